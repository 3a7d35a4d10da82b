"""`kb models list|add`: the local GGUF models on this machine, the models each local model
server offers (Ollama, LM Studio, vLLM, llama.cpp's server), and adding a GGUF.

A thin adapter over `assistant.backends.model_library` and `profile_report`: argument parsing,
the tables, and `--default`, which records the new file as `llm.model_path` in kb.yaml.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import ConfigurationError
from assistant.settings import Settings


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    """Run `kb models list` or `kb models add`; returns the exit status."""
    return _list(args, settings) if args.action == "list" else _add(args, settings)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.backends.llms.llama_cpp import resolve_gpu_layers
    from assistant.backends.model_library import installed_models, probe_model
    from assistant.backends.profile_report import server_model_rows
    from assistant.backends.profiles import smollm2_path

    llm = settings.llm
    layers = resolve_gpu_layers(llm.n_gpu_layers)
    rows = [
        model.row(
            probe_model(model.path, layers, llm.probe_dir, args.probe, llm.n_threads),
            not args.no_hash,
        )
        for model in installed_models(Path(llm.model_dir), smollm2_path())
    ]
    served = server_model_rows(settings)
    if args.json:  # GGUF rows as before, then the servers' (their `kind`: local-server)
        print(json.dumps(rows + [_as_gguf_shaped(row) for row in served], indent=2))
    else:
        print(_table(rows))
        if served:
            print("\nLocal model servers (set KB_PROFILES__<PROFILE>__MODEL to use one):")
            print(_servers_table(served))
    return 0


GGUF_FIELDS = ("file", "bytes", "sha256", "quantisation", "prompt_tok_s", "write_tok_s")


def _as_gguf_shaped(row: dict[str, object]) -> dict[str, object]:
    """A server's row with the GGUF rows' fields too (None), so readers of the old list of
    GGUF rows find every field they read."""
    return {**dict.fromkeys(GGUF_FIELDS), **row}


def _servers_table(rows: list[dict[str, object]]) -> str:
    """One line per server: profile, URL, and its models (the chosen one marked) or why none."""
    models: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        key = (str(row["profile"]), str(row["server"]))
        entry = str(row.get("error") or row["model"])
        models.setdefault(key, []).append(f"{entry} (chosen)" if row.get("chosen") else entry)
    cells = [("profile", "server", "models")] + [
        (profile, server, ", ".join(names)) for (profile, server), names in models.items()
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(2)]
    return "\n".join(
        f"{line[0].ljust(widths[0])}  {line[1].ljust(widths[1])}  {line[2]}" for line in cells
    )


def _table(rows: list[dict[str, Any]]) -> str:
    header = ("name", "size", "quant", "prompt/write tok/s", "sha256", "file")
    cells = [header] + [
        (
            str(row["name"]),
            f"{row['bytes'] / 1e6:,.0f} MB",
            str(row["quantisation"] or "?"),
            f"{row['prompt_tok_s']:.0f} / {row['write_tok_s']:.1f}"
            if row["prompt_tok_s"]
            else "not measured (--probe)",
            (row["sha256"] or "")[:12],
            str(row["file"]),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells
    )


def _add(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.backends.llms.llama_cpp import resolve_gpu_layers
    from assistant.backends.llms.llama_probe import ensure_llama_runs
    from assistant.backends.model_library import ADDED_PREFIX, add_model

    llm = settings.llm
    path = add_model(args.source, Path(llm.model_dir), args.sha256)
    layers = resolve_gpu_layers(llm.n_gpu_layers)
    result = ensure_llama_runs(path, layers, llm.probe_dir, llm.n_threads)
    print(f"kb: added {path} ({result.detail})", file=sys.stderr)
    print(f"kb: use it with --backend {ADDED_PREFIX}{path.stem}", file=sys.stderr)
    if args.default:
        settings_file = settings.home.settings_file
        set_default_model(path.resolve(), settings_file)
        print(f"kb: it is now the `local` model ({settings_file}: llm.model_path)", file=sys.stderr)
    return 0


def set_default_model(path: Path, settings_file: Path) -> None:
    """Record `path` as llm.model_path in kb.yaml, keeping the file's other settings."""
    try:
        current = yaml.safe_load(settings_file.read_text()) if settings_file.exists() else {}
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{settings_file} is not valid YAML: {exc}") from exc
    current = current or {}
    current.setdefault("llm", {})["model_path"] = str(path)
    settings_file.write_text(yaml.safe_dump(current, sort_keys=False))
