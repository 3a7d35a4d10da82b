"""Text repair applied to whole documents: encoding mojibake and line endings.

Repairs whole documents, never line by line: ftfy needs the whole text to see that a file
was decoded with the wrong codec (seed 000 was UTF-8 read as Mac-Roman).
"""

from __future__ import annotations

import codecs

import ftfy

_CODECS = ("utf-8-sig", "cp1252", "latin-1")
# UTF-32 first: its little-endian mark starts with UTF-16's.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_bytes(data: bytes) -> str:
    """Decode file bytes: UTF-16/32 when a byte-order mark says so (Windows Notepad writes
    UTF-16), else UTF-8, then cp1252; latin-1 never fails, so this always returns."""
    for mark, codec in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return data.decode(codec, errors="replace")
    for codec in _CODECS:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte string")


def repair_text(text: str) -> str:
    """Fix mojibake and normalise line endings, keeping everything else byte-for-byte.

    `ftfy.fix_encoding` (not `fix_text`) is used on purpose: `fix_text` makes the Mac-Roman
    mojibake in seed 000 worse, while `fix_encoding` on the whole document repairs it exactly.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return ftfy.fix_encoding(text)
