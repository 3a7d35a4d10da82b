"""Which files an ingest takes: the files and folders named, minus hidden folders, excluded
names and links that could loop; and what markers in a file's folders say of it.

A `.kb-local-only` file marks its folder and those below as never sent to a hosted model; a
`.kb-collection` file's first line names the collection of the files below it. Sources are
named relative to kb's home when inside it, so an index keeps its names wherever kb runs.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import Path

DEFAULT_MAX_FILE_MB = 20  # a 20 MB text file is ~17,000 chunks: minutes to embed on a CPU


def source_name(path: Path, base: Path) -> str:
    """Path relative to `base` (kb's home) when inside it (portable), else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(base.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _excluded(path: Path, exclude: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in exclude)


def _skipped_link(path: Path, suffixes: tuple[str, ...]) -> str | None:
    """Why a symbolic link found in a folder is not read, or None to read it.

    Links to folders are not followed: one that points back up (`d/loop -> d`) would
    otherwise repeat the folder without end. Name the target itself to ingest it.
    """
    if not path.is_symlink():
        return None
    if path.is_dir():
        return "symbolic link to a folder: not followed (it could loop); ingest the folder itself"
    if not path.exists() and path.suffix.lower() in suffixes:
        return "symbolic link that leads nowhere (it points to itself, loops or its target is gone)"
    return None


def _scan(
    folder: Path, exclude: Iterable[str], base: Path
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Supported files in `folder`, none in a hidden folder below it (pathlib's rglob does not
    descend into folder links), and (source, reason) for the links skipped."""
    from ingest.readers import (
        supported_suffixes,
    )  # the readers' imports are slow; settings import this module

    files, skipped = [], []
    suffixes = supported_suffixes()
    for path in sorted(folder.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if hidden or _excluded(path, exclude):  # .git, .venv, kb's own .kb/ and the like
            continue
        reason = _skipped_link(path, suffixes)
        if reason:
            skipped.append((source_name(path.parent, base) + "/" + path.name, reason))
        elif path.is_file() and path.suffix.lower() in suffixes:
            files.append(path)
    return files, skipped


def discover(
    paths: list[Path], exclude: Iterable[str], base: Path
) -> tuple[list[Path], list[Path], list[tuple[str, str]]]:
    """Return (supported files, scanned folders, (path, reason) for what cannot be read);
    sources are named relative to `base`."""
    files: list[Path] = []
    folders: list[Path] = []
    problems: list[tuple[str, str]] = []
    for path in paths:
        if path.is_dir():
            folders.append(path)
            found, skipped = _scan(path, exclude, base)
            files += found
            problems += skipped
        elif path.is_file():
            files.append(path)
        else:
            problems.append((str(path), "no such file or folder"))
    return files, folders, problems


LOCAL_ONLY_MARKER = ".kb-local-only"


def is_local_only(path: Path) -> bool:
    """Whether a `.kb-local-only` file marks the file's folder or a folder above it."""
    return any((folder / LOCAL_ONLY_MARKER).is_file() for folder in path.resolve().parents)


COLLECTION_MARKER = ".kb-collection"


def marked_collection(path: Path) -> str | None:
    """The first line of the nearest `.kb-collection` in the file's folder or above, or None."""
    for folder in path.resolve().parents:
        marker = folder / COLLECTION_MARKER
        if marker.is_file():
            name = marker.read_text(encoding="utf-8").strip().splitlines()
            return name[0].strip() if name else None
    return None
