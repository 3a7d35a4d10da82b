"""The chat backends a conversation may choose from, each built once on first use.

A `BackendChoice` says whether a backend can be used here and, when not, why (shown to the
user). `ChatModelPool` builds a backend's chat model the first time a conversation picks it
and shares it afterwards: a model file is loaded once however many tabs use it. It does not
know how a backend is built; the composition root hands it factories.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from assistant.errors import ConfigurationError
from assistant.llms.base import ChatModel


@dataclass(frozen=True)
class BackendChoice:
    name: str
    label: str
    available: bool = True
    reason: str = ""  # why it is not available

    @property
    def display(self) -> str:
        return self.label if self.available else f"{self.label} (unavailable: {self.reason})"


class ChatModelPool:
    def __init__(
        self,
        choices: Sequence[BackendChoice],
        factories: Mapping[str, Callable[[], ChatModel]],
        default: str,
    ):
        self.choices = list(choices)
        self._factories = dict(factories)
        self._models: dict[str, ChatModel] = {}
        self._lock = threading.Lock()
        self.default = default

    def choice(self, name: str) -> BackendChoice:
        for choice in self.choices:
            if choice.name == name:
                return choice
        names = ", ".join(c.name for c in self.choices)
        raise ConfigurationError(f"unknown backend {name!r}; choose one of {names}")

    def get(self, name: str) -> ChatModel:
        choice = self.choice(name)
        if not choice.available:
            raise ConfigurationError(f"backend {choice.label!r} is unavailable: {choice.reason}")
        with self._lock:
            if name not in self._models:
                self._models[name] = self._factories[name]()
            return self._models[name]

    def loaded(self) -> dict[str, ChatModel]:
        with self._lock:
            return dict(self._models)
