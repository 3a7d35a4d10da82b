"""Offline OCR of images: the text of a scanned page, for PDFs that have no text layer.

The engine is RapidOCR on ONNX Runtime (`rapidocr-onnxruntime`, the `ocr` extra): its PP-OCRv4
detection and recognition models are files inside the wheel, so nothing is ever downloaded.
It is created on first use, once per process, and shared by every page after it.

Reads image bytes only; which images of which PDF page to read is the PDF reader's business.
"""

from __future__ import annotations

import importlib.metadata
import io
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from ingest.errors import IngestError

PACKAGE = "rapidocr-onnxruntime"
INSTALL = "to read scanned pages: pip install 'kb[ocr]' (rapidocr-onnxruntime; `make dev` has it)"

_lock = threading.Lock()
_engine: Any = None


class OcrUnavailableError(IngestError):
    """No OCR engine can run here; the message says why and how to install one."""


def _load_engine() -> Any:
    """RapidOCR with its packaged models. The text-angle classifier is off: it can turn an
    upright line upside down and lose it, and scans are upright."""
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(use_cls=False)


def engine() -> Any:
    """The process's OCR engine, created on first call (loading its models takes a moment, so
    it is done once); raises `OcrUnavailableError` when it is not installed or cannot load."""
    global _engine
    with _lock:
        if _engine is None:
            try:
                _engine = _load_engine()
            except ImportError as exc:  # missing package, or a shared library cv2 needs
                raise _unavailable(exc) from exc
        return _engine


def _unavailable(exc: ImportError) -> OcrUnavailableError:
    if "libGL" in str(exc):  # OpenCV's wheel links it; a bare server image lacks it
        return OcrUnavailableError(f"OCR cannot load ({exc}): apt-get install libgl1")
    return OcrUnavailableError(f"OCR is not installed ({exc}); {INSTALL}")


def describe_engine() -> str:
    """The engine's name and version, without loading its models (for `kb doctor`); raises
    `OcrUnavailableError` with the reason when it cannot be imported."""
    try:
        import rapidocr_onnxruntime  # noqa: F401
    except ImportError as exc:
        raise _unavailable(exc) from exc
    runtime = importlib.metadata.version("onnxruntime")
    version = importlib.metadata.version(PACKAGE)
    return f"{PACKAGE} {version} (PP-OCRv4 models inside the wheel, ONNX Runtime {runtime})"


def ocr_image(data: bytes) -> str:
    """The text of one image (PNG, JPEG, TIFF… bytes): one line per text line, top to bottom,
    each left to right; "" when it holds no text."""
    reader = engine()
    result, _ = reader(black_and_white(grey_pixels(data)))
    return "\n".join(reading_order(result or []))


def grey_pixels(data: bytes) -> np.ndarray:
    """Grey levels of an image on white. RapidOCR reads a 4-channel array as RGBA and a palette
    image as its indexes, so a CMYK scan or a GIF-like image is converted before it sees it."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            page = Image.new("RGBA", image.size, "white")
            page.alpha_composite(image.convert("RGBA"))
            return np.asarray(page.convert("L"))
        return np.asarray(image.convert("L"))


def black_and_white(grey: np.ndarray) -> np.ndarray:
    """Ink and paper by Otsu's threshold. JPEG's ringing around letters makes the recogniser
    run words together ("arekeptforseven"); on black and white it reads them apart again
    (bench/ocr.py)."""
    import cv2

    _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return np.asarray(binary)


# A recognised box: ([4 corner points], text, score), as RapidOCR returns it.
Box = Sequence[Any]


def reading_order(boxes: Sequence[Box]) -> list[str]:
    """Text lines from recognised boxes: boxes whose vertical middles fall inside one line's
    height form that line, read left to right; lines read top to bottom."""
    lines: list[tuple[float, float, list[Box]]] = []  # top, bottom, boxes
    for box in sorted(boxes, key=_middle):
        top, bottom = _span(box)
        line = next((ln for ln in lines if ln[0] <= _middle(box) <= ln[1]), None)
        if line is None:
            lines.append((top, bottom, [box]))
        else:
            line[2].append(box)
    return [" ".join(str(b[1]) for b in sorted(ln[2], key=_left)) for ln in lines]


def _span(box: Box) -> tuple[float, float]:
    ys = [point[1] for point in box[0]]
    return min(ys), max(ys)


def _middle(box: Box) -> float:
    top, bottom = _span(box)
    return (top + bottom) / 2


def _left(box: Box) -> float:
    return float(min(point[0] for point in box[0]))
