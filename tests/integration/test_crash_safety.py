"""Crash safety and concurrent ingests, with real `kb` processes, FAISS on disk and kill -9.

`kb ingest` is killed at random moments (vectors in FAISS, and on a real Milvus server) spread over a measured run, and once at the start of each
phase (reading, embedding, the staging folder of the save, the switch): `kb retrieve` must then
answer from the old index or the new one, never a mix,
and the next ingest must succeed and clear what the killed one left. Two ingests of the same
index must be serialised or refused, never lose each other's changes. The hashing embedder
keeps runs short; what is under test is the index folder, not the vectors.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.lock import index_lock
from index.storage import PREVIOUS, IndexState, current_generation, load_index
from tests.support.milvus import target

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = 20240611
RANDOM_KILLS = 10
# besides the random delays, one kill as each of these appears in the log (or the index folder)
TARGETED_KILLS = ["reading ", "embedding ", ".tmp-gen-", " is current", "search graph: rebuild"]
BUSY = "another ingest is running on"
# what `kb -v ingest` logs as it goes (index.builder, index.storage), in order
PHASES = [
    ("holding the writer lock", "planning"),
    ("reading ", "reading"),
    ("embedding ", "embedding"),
    ("saving a new generation", "saving"),
    (" is current", "switched"),
    ("search graph: ", "graph"),  # kb's compaction after the switch (faiss-graph only)
]
WORDS = [f"w{n}" for n in range(4000)]
FileMap = dict[str, str]  # source -> sha256


@dataclass
class Workspace:
    root: Path
    env: dict[str, str]

    @property
    def index_dir(self) -> Path:
        return self.root / "index"

    def kb(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tests.support.fake_kb", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start_ingest(self, log: Path, *args: str) -> subprocess.Popen[bytes]:
        with open(log, "wb") as stderr:  # the child keeps its own copy of the descriptor
            return subprocess.Popen(
                [sys.executable, "-m", "tests.support.fake_kb", "-v", "ingest", *args],
                cwd=self.root,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )


def _workspace(tmp_path: Path, store: dict[str, str]) -> Workspace:
    env = dict(os.environ)
    env.update(
        {
            "KB_EMBEDDER__BACKEND": "hashing",
            "KB_INDEX__DIR": str(tmp_path / "index"),
            "PYTHONPATH": str(ROOT),
        }
    )
    return Workspace(tmp_path, env | store)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return _workspace(tmp_path, {})


@pytest.fixture(params=["faiss", "faiss-graph", "milvus-server"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Workspace:
    """FAISS in the index folder (exact, or past a low graph threshold: every ingest then
    rewrites enough to rebuild the graph after it), or vectors on the real Milvus server."""
    if request.param == "faiss":
        return _workspace(tmp_path, {})
    if request.param == "faiss-graph":
        return _workspace(tmp_path, {"KB_INDEX__ANN_THRESHOLD": "100"})
    return _workspace(tmp_path, target(request.param, request, tmp_path).env)


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=70)) + "." for _ in range(count)]


def _write_corpus(folder: Path, rng: random.Random, files: int) -> dict[str, str]:
    """`files` Markdown documents; returns their base text by name (updates go below it)."""
    folder.mkdir()
    base = {}
    for n in range(files):
        name = f"doc{n:04d}.md"
        base[name] = "\n\n".join([f"# Document {n}", *_paragraphs(rng, 8)])
        (folder / name).write_text(base[name])
    return base


def _mutate(folder: Path, base: dict[str, str], rng: random.Random, marker: str) -> None:
    """Update two thirds of the files, add three, delete two; the marker is in every change."""
    names = sorted(base)
    for name in rng.sample(names, k=len(names) * 2 // 3):
        update = f"## Update {marker}\n\n{marker} " + " ".join(_paragraphs(rng, 1))
        (folder / name).write_text(f"{base[name]}\n\n{update}")
    for name in rng.sample(names, k=2):
        (folder / name).unlink()
        del base[name]
    for n in range(3):
        name = f"new-{marker}-{n}.md"
        base[name] = "\n\n".join([f"# New {marker} {n}", *_paragraphs(rng, 4)])
        (folder / name).write_text(f"{base[name]}\n\n{marker} is new here.")


def _folder_map(root: Path, folder: str) -> FileMap:
    return {
        f"{folder}/{p.name}": hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / folder).iterdir())
    }


def _index_map(index_dir: Path) -> FileMap:
    return {source: record.sha256 for source, record in load_index(index_dir).files.items()}


def _phase(log: Path) -> str:
    """The last phase the ingest logged before it died."""
    text = log.read_text(errors="replace")
    reached = [name for needle, name in PHASES if needle in text]
    return reached[-1] if reached else "startup"


def _leftovers(index_dir: Path) -> list[str]:
    """Staging folders, a half-made pointer and generations that are neither current nor the
    one the current replaced (kept for readers still loading it, named in PREVIOUS)."""
    current = current_generation(index_dir)
    previous = index_dir / PREVIOUS
    kept = previous.read_text().strip() if previous.is_file() else None
    return sorted(
        p.name
        for p in index_dir.iterdir()
        if p.name.startswith((".tmp-gen-", ".CUR", "gen-")) and p != current and p.name != kept
    )


def _check_index(workspace: Workspace, old: FileMap, new: FileMap, marker: str) -> str:
    """`kb retrieve` answers from exactly the old or the new state; returns which."""
    state = load_index(workspace.index_dir)
    files = {source: record.sha256 for source, record in state.files.items()}
    assert files in (old, new), "the current generation is neither the old nor the new index"
    assert state.manifest.chunks == len(state.chunks)
    if workspace.env.get("KB_INDEX__STORE") == "milvus":
        # Rows a killed ingest upserted are in no generation: searches skip them, and the
        # next ingest deletes them (checked after it by `_vectors_match`).
        assert len(state.store) >= _vectors_used(state)
    else:
        assert len(state.store) == _vectors_used(state)
    assert {c.source for c in state.chunks.values()} == set(files)
    result = workspace.kb("retrieve", marker, "--top-k", "10", "--json")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)["hits"]
    assert hits
    indexed = {(c.source, c.text) for c in state.chunks.values()}
    assert all((h["source"], h["text"]) in indexed and h["source"] in files for h in hits)
    if files == new:
        assert marker in hits[0]["text"]
        return "new"
    assert not any(marker in h["text"] for h in hits)
    return "old"


def _vectors_used(state: IndexState) -> int:
    return len(state.chunks) + sum(state.windows.values())  # windows too


def _kill_after(proc: subprocess.Popen[bytes], delay: float) -> bool:
    """kill -9 after `delay` seconds; False when the ingest had already finished."""
    try:
        proc.wait(timeout=delay)
        return False
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True


def _kill_on_sight(proc: subprocess.Popen[bytes], log: Path, index_dir: Path, sign: str) -> bool:
    """kill -9 as soon as `sign` appears in the log, or a folder named so in the index folder."""

    def seen() -> bool:
        if sign.startswith(".tmp-gen-"):
            return any(entry.name.startswith(sign) for entry in os.scandir(index_dir))
        return sign in log.read_text(errors="replace")

    while proc.poll() is None:
        if seen():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.0005)
    return False


def test_kill_9_at_any_moment_leaves_the_old_or_the_new_index(any_store: Workspace) -> None:
    workspace = any_store
    rng = random.Random(SEED)
    base = _write_corpus(workspace.root / "docs", rng, files=500)
    first = workspace.kb("ingest", "docs")
    assert first.returncode == 0, first.stderr

    # a normal run of the size the trials make: what the kill delays are spread over
    _mutate(workspace.root / "docs", base, rng, "crashmark00")
    started = time.monotonic()
    measured = workspace.kb("ingest", "docs")
    duration = time.monotonic() - started
    assert measured.returncode == 0, measured.stderr
    kills: list[float | str] = [
        duration * 1.05 * (n + rng.random()) / RANDOM_KILLS for n in range(RANDOM_KILLS)
    ]
    kills += TARGETED_KILLS
    rng.shuffle(kills)
    print(f"\nseed {SEED}; a normal ingest took {duration:.2f} s")

    phases: Counter[str] = Counter()
    for trial, kill in enumerate(kills, start=1):
        marker = f"crashmark{trial:02d}"
        old = _index_map(workspace.index_dir)
        _mutate(workspace.root / "docs", base, rng, marker)
        new = _folder_map(workspace.root, "docs")
        log = workspace.root / f"ingest-{trial}.log"
        proc = workspace.start_ingest(log, "docs")
        if isinstance(kill, str):
            killed = _kill_on_sight(proc, log, workspace.index_dir, kill)
        else:
            killed = _kill_after(proc, kill)
        phase = _phase(log) if killed else "finished"
        left = _leftovers(workspace.index_dir)
        outcome = _check_index(workspace, old, new, marker)
        if phase in ("startup", "planning", "reading", "embedding"):
            assert outcome == "old", f"killed before saving ({phase}) yet the index changed"
        if phase in ("switched", "graph", "finished"):
            assert outcome == "new", "the new generation was current yet the index is old"
        phases[phase] += 1
        when = f"on seeing {kill.strip()!r}" if isinstance(kill, str) else f"after {kill:.2f} s"
        print(f"trial {trial:2}: kill {when}: {phase}; index {outcome}; left behind {left}")

        again = workspace.kb("ingest", "docs")
        assert again.returncode == 0, again.stderr
        assert _index_map(workspace.index_dir) == new
        assert _leftovers(workspace.index_dir) == []
        state = load_index(workspace.index_dir)
        assert len(state.store) == _vectors_used(state)  # nothing the killed one added is left
    print(f"kills by phase over {len(kills)} trials: {dict(phases)}")
    assert all(phases[p] for p in ("reading", "embedding", "saving", "switched")), phases


def _two_folders(workspace: Workspace) -> tuple[dict[str, dict[str, str]], random.Random]:
    rng = random.Random(SEED + 1)
    bases = {name: _write_corpus(workspace.root / name, rng, files=200) for name in ("a", "b")}
    first = workspace.kb("ingest", "a", "b")
    assert first.returncode == 0, first.stderr
    return bases, rng


def _run_together(workspace: Workspace, *wait: str) -> dict[str, tuple[int, str]]:
    procs = {
        name: workspace.start_ingest(workspace.root / f"{name}.log", *wait, name)
        for name in ("a", "b")
    }
    return {
        name: (proc.wait(timeout=300), (workspace.root / f"{name}.log").read_text())
        for name, proc in procs.items()
    }


@pytest.mark.parametrize("wait", [[], ["--wait", "0"]], ids=["default-wait", "no-wait"])
def test_two_ingests_started_together_are_serialised_or_refused(
    workspace: Workspace, wait: list[str]
) -> None:
    bases, rng = _two_folders(workspace)
    old = _index_map(workspace.index_dir)
    for name in ("a", "b"):
        _mutate(workspace.root / name, bases[name], rng, f"change{name}")
    expected = dict(old)
    results = _run_together(workspace, *wait)
    for name, (code, log) in results.items():
        waited = "waiting up to" in log
        print(f"\ningest {name}: exit {code}; waited for the other: {waited}")
        if code == 0:
            expected = {k: v for k, v in expected.items() if not k.startswith(f"{name}/")}
            expected |= _folder_map(workspace.root, name)
        else:
            assert code == 1 and BUSY in log and "try again when it finishes" in log, log
    assert any(code == 0 for code, _ in results.values())
    if not wait:
        assert all(code == 0 for code, _ in results.values())
    assert _index_map(workspace.index_dir) == expected  # no lost and no torn update


def test_a_held_lock_refuses_then_queues_both_ingests(workspace: Workspace) -> None:
    bases, rng = _two_folders(workspace)
    old = _index_map(workspace.index_dir)
    for name in ("a", "b"):
        _mutate(workspace.root / name, bases[name], rng, f"change{name}")
    with index_lock(workspace.index_dir, 0):
        refused = workspace.kb("ingest", "--wait", "0.5", "a")
        assert refused.returncode == 1
        assert f"kb: error: {BUSY} {workspace.index_dir} (pid {os.getpid()})" in refused.stderr
        assert _index_map(workspace.index_dir) == old
        reader = workspace.kb("retrieve", "Document", "--json")  # readers never take the lock
        assert reader.returncode == 0 and json.loads(reader.stdout)["hits"], reader.stderr
        procs = {
            name: workspace.start_ingest(workspace.root / f"{name}.log", name)
            for name in ("a", "b")
        }
        deadline = time.monotonic() + 120
        while not all("waiting up to" in (workspace.root / f"{n}.log").read_text() for n in procs):
            assert time.monotonic() < deadline, "the ingests never reached the lock"
            assert all(p.poll() is None for p in procs.values()), "an ingest did not wait"
            time.sleep(0.05)
    assert all(proc.wait(timeout=300) == 0 for proc in procs.values())
    both = _folder_map(workspace.root, "a") | _folder_map(workspace.root, "b")
    assert _index_map(workspace.index_dir) == both
