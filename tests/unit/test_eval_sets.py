"""The question sets kb is measured on are valid against the corpus, and the split is fixed."""

import importlib.util
import json
from pathlib import Path

import pytest

from tests.conftest import ROOT

EVAL = ROOT / "eval"


def _check_dev():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("check_dev", EVAL / "check_dev.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["dev", "second"])
def test_every_gold_snippet_is_in_the_cleaned_corpus(name: str) -> None:
    assert _check_dev().main([str(EVAL / f"{name}.jsonl"), "--corpus", str(ROOT / "corpus")]) == 0


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]


def test_tune_and_heldout_split_dev_without_overlap() -> None:
    tune, heldout = _ids(EVAL / "tune.jsonl"), _ids(EVAL / "heldout.jsonl")
    assert not set(tune) & set(heldout)
    assert sorted(tune + heldout) == sorted(_ids(EVAL / "dev.jsonl"))


def test_the_second_set_has_all_six_types_and_its_own_ids() -> None:
    rows = [json.loads(line) for line in (EVAL / "second.jsonl").read_text().splitlines()]
    assert {r["type"] for r in rows} == {
        "fact",
        "number",
        "compare",
        "multi",
        "unanswerable",
        "followup",
    }
    assert not {r["id"] for r in rows} & set(_ids(EVAL / "dev.jsonl"))
