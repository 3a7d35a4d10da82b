"""docs/contract.md holds the shared EVAL.md word for word, so a plain clone has the contract."""

from tests.conftest import ROOT, require

SHARED_EVAL = ROOT.parent / "shared" / "EVAL.md"


def test_the_contract_copy_follows_eval_md() -> None:
    require(SHARED_EVAL.is_file(), f"{SHARED_EVAL} is missing (the shared folder beside the clone)")
    original = SHARED_EVAL.read_text(encoding="utf-8").split("\n", 1)[1].strip()
    copy = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    assert original in copy, "docs/contract.md no longer matches EVAL.md: copy it again"
