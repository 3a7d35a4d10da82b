"""bench/scale.py's pieces on 2,000 vectors, so the benchmark cannot rot between runs of it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import scale
from index import faiss_store, hnsw_graph

COUNT = 2_000
QUERIES = 60


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scale.make_data(COUNT, tmp_path_factory.mktemp("scale") / "data", queries=QUERIES)


def test_data_are_unit_vectors_whose_planted_duplicate_is_the_exact_best(data: Path) -> None:
    base, queries = np.load(data / "base.npy"), np.load(data / "queries.npy")
    assert base.shape == (COUNT, scale.DIMENSION) and queries.shape == (QUERIES, scale.DIMENSION)
    assert np.allclose(np.linalg.norm(base, axis=1), 1, atol=1e-5)
    truth, targets = np.load(data / "truth.npy"), np.load(data / "targets.npy")
    assert (truth[:, 0] == targets).all()
    scores = queries @ base.T  # the oracle's oracle: a full sort
    assert (np.argsort(-scores, axis=1)[:, : scale.RECALL_AT] == truth).all()


def test_recall_counts_the_shared_ids() -> None:
    assert scale.recall_at(
        [[1, 2, 3], [7, 8, 9]], np.array([[1, 2, 4], [7, 8, 9]]), k=3
    ) == pytest.approx(5 / 6)


def test_exact_store_finds_everything(data: Path, tmp_path: Path) -> None:
    [row] = scale.measure_store(scale.Target("faiss-exact"), data, tmp_path)
    assert row["store"] == "faiss-exact" and row["vectors"] == COUNT
    assert row["recall@10"] == 1.0 and row["dup@1"] == 1.0
    assert 0 < row["p50_ms"] <= row["p95_ms"] and row["c8_qps"] > 0
    assert (tmp_path / faiss_store.FLAT_FILE).is_file()
    # the churn's oracle agrees with an exact store that saw every removal and addition
    assert row["churn_recall@10"] == 1.0 and row["churn_masked"] is None
    assert row["add_doc_s"] > 0 and row["loaded_mb"] > 2  # its 3 MB are the process's own


PROBE = """
import sys
import subprocess
import sys
from pathlib import Path
import numpy as np
from bench import scale
folder = Path(sys.argv[1])
probe = scale._memory_probe(scale.Target("faiss-exact"))
np.save(folder / "big.npy", np.ones(50 * 2**20 // 8))
before = probe()
mapped = np.load(folder / "big.npy", mmap_mode="r")
assert mapped.sum() > 0
read = probe() - before
held = np.ones(50 * 2**20 // 8)
print(read, probe() - before, held[0])
"""


def test_memory_probe_sees_an_allocation_not_a_mapped_file(tmp_path: Path) -> None:
    # In a fresh process, as the bench measures each store: a long pytest process may hand
    # the array memory it already holds (CI saw no growth at all there).
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    read, held, value = done.stdout.split()
    assert int(read) < 10 * 2**20  # read, but file-backed
    assert int(held) > 45 * 2**20 and float(value) == 1.0


def test_hnsw_store_is_kbs_graph(data: Path, tmp_path: Path) -> None:
    [row] = scale.measure_store(scale.Target("faiss-hnsw"), data, tmp_path)
    assert (tmp_path / faiss_store.ANN_FILE).is_file()  # searched through the graph, as kb does
    assert row["recall@10"] > 0.9 and row["dup@1"] == 1.0
    assert row["churn_recall@10"] > 0.9 and row["churn_masked"] == pytest.approx(0.2)
    assert row["mapped_mb"] > 1  # a served graph's 3 MB of vectors are mapped, not copied


def test_a_bad_graph_shows_in_recall(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two neighbours a node, built and searched shallow: the metric must see it."""
    monkeypatch.setattr(hnsw_graph, "NEIGHBOURS", 2)
    monkeypatch.setattr(hnsw_graph, "BUILD_DEPTH", 2)
    monkeypatch.setattr(hnsw_graph, "SEARCH_DEPTH", 1)
    [row] = scale.measure_store(scale.Target("faiss-hnsw"), data, tmp_path)
    assert row["recall@10"] < 0.8 and row["churn_recall@10"] < 0.8


def test_report_rows() -> None:
    figures = {"vectors": 1_000_000, "build_s": 61.0, "memory_mb": 1536.0, "p50_ms": 80.0}
    figures |= {"p95_ms": 120.0, "c8_p50_ms": 300.0, "c8_p95_ms": 450.0, "c8_qps": 25.0}
    figures |= {"recall@10": 1.0, "dup@1": 1.0, "store": "faiss-exact"}
    figures |= {"loaded_mb": 1530.0, "mapped_mb": 0.0, "add_doc_s": 9.5, "churn_recall@10": 1.0}
    stopped = {"vectors": 1_000_000, "store": "faiss-hnsw", "timed_out_s": 1500.0}
    text = scale.table([figures, stopped])
    assert (
        "| 1,000,000 | faiss-exact | 61.0 | 1,536 | 1,530 + 0 | 80.0 | 120 | 300 | 450 | 25.0 |"
        " 1.000 | 1.000 | 9.50 | 1.000 |" in text
    )
    assert "| 1,000,000 | faiss-hnsw | not done in 25 min (stopped) |" in text
