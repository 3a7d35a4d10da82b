"""kb's home: the one folder its relative paths (`.kb/index`, `.kb/models`, `corpus`, `.env`,
`kb.yaml`) are read against, wherever `kb` is run from.

The first of these that applies:
1. `KB_HOME` in the environment (relative: to the current directory);
2. the folder of the nearest `kb.yaml`, from the current directory upwards;
3. the checkout kb runs from (`make run` installs it editable), so an existing `.kb/` there
   keeps working from any directory;
4. the per-user data folder (platformdirs), for a kb installed from a wheel.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOME_VARIABLE = "KB_HOME"
SETTINGS_FILE = "kb.yaml"
SECRETS_FILE = ".env"


@dataclass(frozen=True)
class Home:
    """Where kb's files are and why there (shown by `kb doctor`)."""

    path: Path
    reason: str

    @property
    def settings_file(self) -> Path:
        return self.path / SETTINGS_FILE

    @property
    def secrets_file(self) -> Path:
        return self.path / SECRETS_FILE

    def anchor(self, path: Path) -> Path:
        """`path` as an absolute path: a relative one is read against the home."""
        path = path.expanduser()
        return path if path.is_absolute() else self.path / path


def find_home(start: Path | None = None) -> Home:
    """kb's home as seen from `start` (default: the current directory); see the module docstring."""
    here = (start or Path.cwd()).resolve()
    if given := os.environ.get(HOME_VARIABLE):
        return Home((here / Path(given).expanduser()).resolve(), f"{HOME_VARIABLE} is set")
    for folder in (here, *here.parents):
        if (folder / SETTINGS_FILE).is_file():
            return Home(folder, f"nearest {SETTINGS_FILE} above {here}")
    if checkout := _checkout():
        return Home(checkout, "kb is installed from this checkout (no KB_HOME, no kb.yaml above)")
    import platformdirs

    return Home(
        platformdirs.user_data_path("kb"),
        "the per-user data folder (no KB_HOME, no kb.yaml above, kb not run from a checkout)",
    )


def _checkout() -> Path | None:
    """The source tree of an editable install (its pyproject.toml names kb), else None."""
    root = Path(__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "kb"' in pyproject.read_text(encoding="utf-8"):
        return root
    return None


def secrets_file() -> Path:
    """The `.env` kb reads secrets from: the home's."""
    return find_home().secrets_file
