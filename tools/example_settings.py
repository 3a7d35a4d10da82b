"""Write kb.example.yaml from the settings: every field, commented out, at its default, with
its description. `python -m tools.example_settings > kb.example.yaml` after a settings change
(tests/unit/assistant/test_example_settings.py fails until the file follows)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from assistant.settings import ProfileSettings, Settings

HEADER = """\
# kb.yaml: every setting, commented out, at its default. Copy this file to kb.yaml and
# uncomment what you change. First wins: KB_* variables (nested with __, e.g.
# KB_INDEX__DIR), then .env, then kb.yaml. Relative paths are read against kb's home: the
# folder of this kb.yaml (or KB_HOME; README "kb's home"), whatever directory kb runs in.
# A key that names no setting gets a warning with the closest valid one.
"""


def _value(value: Any) -> str:
    if hasattr(value, "as_posix"):
        value = value.as_posix()
    if isinstance(value, list):
        value = [v.as_posix() if hasattr(v, "as_posix") else v for v in value]
    return json.dumps(value, ensure_ascii=False)


def _fields(model: type[BaseModel], indent: str) -> list[str]:
    lines = []
    for name, field in model.model_fields.items():
        note = f"  # {field.description}" if field.description else ""
        lines.append(
            f"# {indent}{name}: {_value(field.get_default(call_default_factory=True))}{note}"
        )
    return lines


def _section(name: str, model: type[BaseModel]) -> list[str]:
    lines = [f"# {name}:  # {' '.join((model.__doc__ or '').split())}"]
    return lines + _fields(model, "  ")


def example() -> str:
    """The whole file."""
    blocks = [HEADER]
    for name, field in Settings.model_fields.items():
        if name == "profiles":
            lines = [f"# profiles:  # {field.description}"]
            lines.append(
                "#   vllm:  # a profile of your own, or a built-in one's name to change its fields"
            )
            blocks.append("\n".join(lines + _fields(ProfileSettings, "    ")) + "\n")
        else:
            blocks.append("\n".join(_section(name, field.annotation)) + "\n")  # type: ignore[arg-type]
    return "\n".join(blocks)


if __name__ == "__main__":
    print(example(), end="")
