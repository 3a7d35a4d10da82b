"""Local GGUF models through llama-cpp-python, with the chat template stored in the GGUF.

Calls `Llama.create_chat_completion` directly: llama-index's LlamaCPP wrapper ignores the
GGUF's chat template and per-call arguments. One llama.cpp context cannot serve two
completions at once, so generation holds a lock, served first come, first served, by a worker
thread that never waits on the caller. Before the first load, a probe in a child
process checks that this llama.cpp build runs on this CPU (`llama_probe`): a build that would die
with SIGILL becomes an error in words instead of a dead process.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.backends.llms.base import Message, Usage, UsageCallback
from assistant.backends.llms.cpu_threads import chosen_threads
from assistant.backends.llms.fair_lock import FairLock
from assistant.backends.llms.llama_probe import ProbeResult, ensure_llama_runs
from assistant.errors import BackendError, BackendUnavailableError

log = logging.getLogger(__name__)


def gpu_offload_supported() -> bool:
    """Whether the installed llama.cpp was built to offload layers to a GPU."""
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def resolve_gpu_layers(requested: int | None) -> int:
    """All layers (-1) when llama.cpp was built with GPU support, none otherwise."""
    if requested is not None:
        return requested
    return -1 if gpu_offload_supported() else 0


class LlamaCppChatModel:
    """A GGUF chat model, loaded on first use."""

    def __init__(
        self,
        model_path: Path,
        model_id: str | None = None,
        n_ctx: int = 4096,
        n_gpu_layers: int | None = None,
        n_threads: int | None = None,
        seed: int = 0,
        backend: str = "local",
        probe_dir: Path | None = None,
        prompt_lookup: int = 0,
    ):
        self._path = model_path
        self._id = model_id or model_path.stem
        self._options: dict[str, Any] = {
            "n_ctx": n_ctx,
            # Unset: one per physical core (llama-cpp-python's own guess halves a 2-core VM).
            "n_threads": chosen_threads(n_threads),
            "seed": seed,
        }
        self._requested_gpu_layers = n_gpu_layers
        self._backend = backend  # the profile name users chose it by
        self._prompt_lookup = prompt_lookup  # draft tokens copied from the prompt; 0: off
        self._probe_dir = probe_dir  # None: no probe (tests that load the model themselves)
        self._probe: ProbeResult | None = None
        self._llama: Any = None
        self._lock = FairLock()  # one context serves one completion at a time, in turn

    @property
    def backend(self) -> str:
        """The profile name users chose this model by."""
        return self._backend

    @property
    def model(self) -> str:
        """The model's id: the one given, else the GGUF file's stem."""
        return self._id

    @property
    def path(self) -> Path:
        """The GGUF file this model loads (the audit log records its sha256)."""
        return self._path

    @property
    def gpu_layers(self) -> int:
        """Layers to offload: as set, else all (-1) where llama.cpp supports a GPU, else none."""
        return resolve_gpu_layers(self._requested_gpu_layers)

    @property
    def offload(self) -> str:
        """Where the layers run, as the probe saw it: "CPU" or "GPU (25 of 25 layers)"."""
        probe = self._probe
        if probe is None or not probe.layers:
            return "CPU" if not self.gpu_layers else "GPU (layers offloaded)"
        if not probe.gpu_layers:
            return "CPU"
        return f"GPU ({probe.gpu_layers} of {probe.layers} layers)"

    def check_build(self) -> ProbeResult | None:
        """Probe (or recall) that llama.cpp runs this model here; raises LlamaBuildError."""
        if not self._path.is_file():
            raise BackendUnavailableError(
                f"model file not found: {self._path}; set KB_LLM__MODEL_PATH"
            )
        if self._probe is None and self._probe_dir is not None:
            self._probe = ensure_llama_runs(
                self._path, self.gpu_layers, self._probe_dir, self._options["n_threads"]
            )
        return self._probe

    def _load(self) -> Any:
        if self._llama is None:
            self.check_build()
            from llama_cpp import Llama

            log.info(
                "loading %s (n_gpu_layers=%d, n_threads=%d)",
                self._path,
                self.gpu_layers,
                self._options["n_threads"],
            )
            try:
                self._llama = Llama(
                    model_path=str(self._path),
                    n_gpu_layers=self.gpu_layers,
                    verbose=False,
                    draft_model=self._draft_model(),
                    # llama-cpp-python 0.3.36 keeps every token's logits with a draft model but
                    # sizes that buffer by this flag: without it the first prompt past 512
                    # tokens fails ("could not broadcast ... into shape (0,)").
                    logits_all=bool(self._prompt_lookup),
                    **self._options,
                )
            except (ValueError, RuntimeError) as exc:
                raise BackendUnavailableError(
                    f"llama.cpp could not load {self._path}: {exc}"
                ) from exc
        return self._llama

    def _draft_model(self) -> Any:
        """Prompt-lookup decoding: answers quote the passages, so the prompt predicts them."""
        if not self._prompt_lookup:
            return None
        from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

        return LlamaPromptLookupDecoding(num_pred_tokens=self._prompt_lookup)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] = (),
        on_usage: UsageCallback | None = None,
    ) -> Iterator[str]:
        """Reply pieces as llama.cpp writes them. A worker thread generates under the model's
        lock, so the lock is never held while the caller works on a piece (a Slack edit), and a
        stream the caller abandons, closed or not, frees the model: closed, it stops the
        worker; merely dropped, the worker finishes its `max_tokens` and lets go."""
        pieces: queue.Queue[object] = queue.Queue()
        stopped = threading.Event()
        request = _Request(list(messages), max_tokens, temperature, list(stop), on_usage)
        worker = threading.Thread(
            target=self._generate, args=(request, pieces, stopped), daemon=True
        )
        worker.start()
        try:
            while (item := pieces.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield str(item)
        finally:
            stopped.set()

    def _generate(
        self, request: _Request, pieces: queue.Queue[object], stopped: threading.Event
    ) -> None:
        try:
            with self._lock:
                if stopped.is_set():  # abandoned while it waited its turn
                    return
                self._generate_locked(request, pieces, stopped)
        except (ValueError, RuntimeError) as exc:
            pieces.put(BackendError(f"local model failed while answering: {exc}"))
        except BaseException as exc:  # the caller's thread raises it
            pieces.put(exc)
        finally:
            pieces.put(_END)

    def _generate_locked(
        self, request: _Request, pieces: queue.Queue[object], stopped: threading.Event
    ) -> None:
        llama = self._load()
        # No reuse of the previous call's prompt: with llama.cpp's prefix cache the same
        # prompt is evaluated in other batches, the numbers differ and so may the reply (the
        # same question asked twice can get a short answer, then a long echo).
        llama.reset()
        parts = llama.create_chat_completion(
            messages=request.messages,
            max_tokens=request.max_tokens,
            temperature=request.temperature,
            stop=request.stop or None,
            stream=True,
            seed=self._options["seed"],  # per call: an answer must not depend on the ones before
        )
        written = 0
        for part in parts:
            if stopped.is_set():
                parts.close()
                return
            text = part["choices"][0]["delta"].get("content")
            if text:
                written += 1
                pieces.put(text)
        if request.on_usage:
            request.on_usage(Usage(_prompt_tokens(llama, request.messages), written))


_END = object()  # the worker is done


@dataclass(frozen=True)
class _Request:
    messages: list[Message]
    max_tokens: int
    temperature: float
    stop: list[str]
    on_usage: UsageCallback | None


def _prompt_tokens(llama: Any, messages: Sequence[Message]) -> int:
    """Tokens of the messages' text (the chat template adds a few more): llama.cpp's streaming
    replies carry no usage, and each streamed piece is one token."""
    text = "\n".join(m["content"] for m in messages)
    return len(llama.tokenize(text.encode("utf-8"), add_bos=False))
