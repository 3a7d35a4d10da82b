from pathlib import Path

from ingest.readers import read_document
from ingest.repair import decode_bytes, repair_text
from tests.conftest import SEED_000


def test_seed_000_mojibake_is_repaired_exactly() -> None:
    raw = SEED_000.read_text(encoding="utf-8")
    text = read_document(SEED_000).text
    assert "‚úÖ" in raw and "‚ùå" in raw  # the seed really is broken
    for mojibake in ("‚úÖ", "‚ùå", "üîπ", "ü¶ô", "‚Üí", "‚Äô"):
        assert mojibake not in text
    assert text.count("✅") == raw.count("‚úÖ")
    assert text.count("❌") == raw.count("‚ùå")
    assert "🦙" in text and "🔹" in text and "can’t host yourself" in text


def test_repair_leaves_clean_text_alone() -> None:
    clean = "Café — naïve “quotes” ✅ and emoji 🦙\n"
    assert repair_text(clean) == clean


def test_repair_normalises_line_endings() -> None:
    assert repair_text("a\r\nb\rc") == "a\nb\nc"


def test_decode_falls_back_from_utf8() -> None:
    assert decode_bytes("café".encode("cp1252")) == "café"
    assert decode_bytes(b"\xef\xbb\xbfhello") == "hello"


def test_txt_reader_repairs_a_copy_of_the_seed(tmp_path: Path) -> None:
    raw = SEED_000.read_bytes()
    copy = tmp_path / "copy.txt"
    copy.write_bytes(raw.replace(b"\n", b"\r\n"))  # and CRLF line endings
    assert read_document(copy).text == read_document(SEED_000).text
