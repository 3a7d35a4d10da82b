"""What is wrong with the settings, in one line each: a misspelt `KB_*` variable or `kb.yaml`
key gets a warning naming the closest valid one (pydantic-settings ignores them without a
word); an invalid value or a `kb.yaml` that is not YAML names the setting, the value and where
it came from."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel

ENV_PREFIX = "KB_"


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {name: field.annotation for name, field in model.model_fields.items()}


def _unknown(model: type[BaseModel], path: list[str]) -> tuple[list[str], str | None] | None:
    """Where `path` (lower-case parts) leaves `model`'s fields: the known parts before it and the
    closest valid name for the first unknown one; None when every part is known."""
    if not path:
        return None
    head, rest = path[0], path[1:]
    fields = _fields(model)
    if head not in fields:
        close = difflib.get_close_matches(head, list(fields), n=1)
        return [], close[0] if close else None
    inner, named = _model(fields[head]), _named_models(fields[head])
    if inner is not None:
        return _prefixed([head], _unknown(inner, rest))
    if named is not None and len(rest) >= 2:  # profiles: any name, then a profile's fields
        return _prefixed([head, rest[0]], _unknown(named, rest[1:]))
    return None  # a leaf: anything below it is its value's business


def _model(annotation: Any) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _named_models(annotation: Any) -> type[BaseModel] | None:
    """The model of a `dict[str, Model]` field (named entries), else None."""
    return _model(get_args(annotation)[1]) if get_origin(annotation) is dict else None


def _prefixed(
    prefix: list[str], found: tuple[list[str], str | None] | None
) -> tuple[list[str], str | None] | None:
    return None if found is None else ([*prefix, *found[0]], found[1])


# Read by kb outside the settings tree, so never "unknown".
OTHER_VARIABLES = {"KB_MILVUS_TOKEN", "KB_WHEELHOUSE", "KB_HOME"}


def _env_names(env: Mapping[str, str]) -> Iterator[str]:
    return (
        name
        for name in env
        if name.upper().startswith(ENV_PREFIX) and name.upper() not in OTHER_VARIABLES
    )


def _yaml_paths(data: Any, prefix: list[str]) -> Iterator[list[str]]:
    if not isinstance(data, dict):
        yield prefix
        return
    for key, value in data.items():
        yield from _yaml_paths(value, [*prefix, str(key).lower()])


def unknown_setting_warnings(
    model: type[BaseModel], env: Mapping[str, str], yaml_data: Any, dotenv: Mapping[str, str]
) -> list[str]:
    """One warning per setting that names nothing, with the closest valid name when there is one."""
    warnings = []
    for source, names in (("environment", _env_names(env)), (".env", _env_names(dotenv))):
        for name in names:
            found = _unknown(model, name[len(ENV_PREFIX) :].lower().split("__"))
            if found:
                close = _spelt(found, lambda parts: ENV_PREFIX + "__".join(parts).upper())
                warnings.append(f"unknown setting {name} ({source}){close}")
    if "KB_HOME" in dotenv:
        warnings.append(
            "KB_HOME in .env is not read: .env is found through it; set it in the shell"
        )
    if isinstance(yaml_data, dict):
        for path in _yaml_paths(yaml_data, []):
            found = _unknown(model, path)
            if found:
                close = _spelt(found, ".".join)
                warnings.append(f"unknown setting {'.'.join(path)} (kb.yaml){close}")
    return warnings


def _spelt(found: tuple[list[str], str | None], spell: Callable[[list[str]], str]) -> str:
    """ "; did you mean X?" for the closest valid name, spelt like the setting; "" without one."""
    known, close = found
    return f"; did you mean {spell([*known, close])}?" if close else ""


def read_sources(yaml_file: Path, dotenv_file: Path) -> tuple[Any, dict[str, str]]:
    """kb.yaml's data (None without one) and .env's values, as pydantic-settings reads them."""
    import yaml
    from dotenv import dotenv_values

    data = yaml.safe_load(yaml_file.read_text(encoding="utf-8")) if yaml_file.is_file() else None
    dotenv = {k: v or "" for k, v in dotenv_values(dotenv_file).items()}
    return data, dotenv


def invalid(error: Any) -> str:
    """One pydantic error in a line: the setting, its variable, the value and what it should be.
    The value is shown only when it is a plain one of a setting that holds no secret."""
    parts = [str(part) for part in error["loc"]]
    value = error.get("input")
    secret = any(word in parts[-1].lower() for word in ("password", "token", "secret", "key"))
    shown = f" = {value!r}" if isinstance(value, str | int | float | bool) and not secret else ""
    return (
        f"invalid setting {'.'.join(parts)}{shown}: {error['msg']} "
        f"(from KB_{'__'.join(parts).upper()}, .env or kb.yaml)"
    )


def not_yaml(settings_file: Path, exc: Exception) -> str:
    """A `kb.yaml` PyYAML cannot read, in a line: where, and what it found."""
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{settings_file} is not valid YAML{where}: {problem}"
