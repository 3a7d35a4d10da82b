"""`kb models`: the local GGUF chat models on this machine, and adding one from a file or a URL.

Installed models are the packaged ones (assembled in `llm.model_dir`), SmolLM2 inside its package,
and any other `*.gguf` in `llm.model_dir` (`kb models add` copies or downloads them there; each
becomes a backend profile named `gguf:<file stem>`). Speed is what the llama.cpp probe measured
on this machine (`assistant.backends.llms.llama_probe`), when it has run. What this module does not do:
load a model to answer (`assistant.backends.llms.llama_cpp`).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from assistant.backends.llms.llama_probe import ProbeResult, probe_cached, recalled_probe
from assistant.backends.model_files import PACKAGED
from assistant.errors import ConfigurationError, ModelFileError
from index.hashing import file_sha256

GGUF_MAGIC = b"GGUF"
ADDED_PREFIX = "gguf:"
_QUANT = re.compile(r"(?i)\b(i?q\d(?:_[a-z0-9]+)*|f16|f32|bf16)\b")


@dataclass(frozen=True)
class InstalledModel:
    """A GGUF kb can run: a packaged model or one added with `kb models add`."""

    name: str  # what a profile or `--backend` calls it
    path: Path
    packaged: bool

    def row(self, probe: ProbeResult | None, with_hash: bool) -> dict[str, object]:
        """Its row in `kb models list`: file, size, quantisation, hash if asked, probe speeds."""
        stat = self.path.stat()
        return {
            "name": self.name,
            "file": str(self.path),
            "bytes": stat.st_size,
            "sha256": file_sha256(self.path) if with_hash else None,
            "quantisation": quantisation(self.path.name),
            "prompt_tok_s": round(probe.prompt_tok_s, 1) if probe and probe.ok else None,
            "write_tok_s": round(probe.gen_tok_s, 1) if probe and probe.ok else None,
        }


def quantisation(file_name: str) -> str | None:
    """The quantisation a GGUF's file name states (such as Q4_K_M or F16), or None."""
    match = _QUANT.search(file_name.replace(".gguf", "").replace("-", " ").replace(".", " "))
    return match.group(1).upper() if match else None


def added_models(model_dir: Path) -> dict[str, Path]:
    """GGUFs in `model_dir` that are not a packaged model: `gguf:<stem>` -> path."""
    packaged = {m.file_name for m in PACKAGED.values()}
    return {
        f"{ADDED_PREFIX}{path.stem}": path
        for path in sorted(model_dir.glob("*.gguf"))
        if path.name not in packaged and not path.name.startswith(".")
    }


def installed_models(model_dir: Path, smollm2: Path | None) -> list[InstalledModel]:
    """The packaged models present in `model_dir`, SmolLM2 if installed, then the added GGUFs."""
    models = [
        InstalledModel(key, model_dir / m.file_name, True)
        for key, m in PACKAGED.items()
        if (model_dir / m.file_name).is_file()
    ]
    if smollm2 is not None:
        models.append(InstalledModel("smollm2-135m", smollm2, True))
    models += [InstalledModel(name, path, False) for name, path in added_models(model_dir).items()]
    return models


def check_gguf(path: Path) -> None:
    """Raise `ModelFileError` unless the file starts with the GGUF magic bytes."""
    with open(path, "rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ModelFileError(f"{path.name} is not a GGUF file (it does not start with 'GGUF')")


def source_url(source: str) -> str | None:
    """The download URL of `hf://owner/repo/file.gguf` (huggingface_hub builds it, honouring
    HF_ENDPOINT) or of a plain http(s) URL; None for a local path."""
    if source.startswith("hf://"):
        owner, repo, *rest = source.removeprefix("hf://").split("/")
        if not rest:
            raise ConfigurationError("hf:// URLs name a file: hf://owner/repo/file.gguf")
        from huggingface_hub import hf_hub_url

        endpoint = os.environ.get("HF_ENDPOINT")
        return str(hf_hub_url(f"{owner}/{repo}", "/".join(rest), endpoint=endpoint))
    if source.startswith(("https://", "http://")):
        return source
    return None


def _download(url: str, out: IO[bytes]) -> None:
    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "kb-models"})
    with urllib.request.urlopen(request, timeout=60) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, file=sys.stderr, desc="download") as bar:
            while block := response.read(1 << 20):
                out.write(block)
                bar.update(len(block))


def _file_name(source: str, url: str | None) -> str:
    name = (url or source).split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    if not name.endswith(".gguf"):
        raise ConfigurationError(f"{source}: the file name must end in .gguf")
    return name


def add_model(source: str, model_dir: Path, expected_sha256: str | None = None) -> Path:
    """Copy or download a GGUF into `model_dir`, checked (magic, optional sha256) before it
    takes its place; nothing is left behind when a check fails."""
    url = source_url(source)
    target = model_dir / _file_name(source, url)
    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=model_dir, prefix=".adding-", delete=False) as out:
        staging = Path(out.name)
        try:
            if url is None:
                if not Path(source).is_file():
                    raise ConfigurationError(f"no such file: {source}")
                with open(source, "rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 22)
            else:
                _download(url, out)
        except OSError as exc:
            staging.unlink(missing_ok=True)
            raise ModelFileError(f"could not get {source}: {exc}") from exc
    try:
        _verify(staging, expected_sha256)
    except ModelFileError:
        staging.unlink(missing_ok=True)
        raise
    os.replace(staging, target)
    return target


def _verify(path: Path, expected_sha256: str | None) -> None:
    check_gguf(path)
    if expected_sha256:
        digest = file_sha256(path)
        if digest != expected_sha256.lower():
            raise ModelFileError(f"sha256 is {digest}, expected {expected_sha256}")


def probe_model(
    path: Path, gpu_layers: int, probe_dir: Path, run: bool, n_threads: int | None = None
) -> ProbeResult | None:
    """The probe's result for `path`: run it (once; remembered) or only recall a past pass.
    `n_threads`: `llm.n_threads` (None: what kb writes with here)."""
    if run:
        return probe_cached(path, gpu_layers, probe_dir, n_threads)
    return recalled_probe(path, gpu_layers, probe_dir, n_threads)
