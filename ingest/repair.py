"""Text repair applied to whole documents: encoding mojibake and line endings.

Repairs whole documents, never line by line: ftfy needs the whole text to see that a file
was decoded with the wrong codec (seed 000 was UTF-8 read as Mac-Roman).
"""

from __future__ import annotations

import ftfy

_CODECS = ("utf-8-sig", "cp1252", "latin-1")


def decode_bytes(data: bytes) -> str:
    """Decode file bytes, preferring UTF-8; latin-1 never fails, so this always returns."""
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
