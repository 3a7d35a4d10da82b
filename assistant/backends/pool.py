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

from assistant.backends.fallback import Plan, Router
from assistant.backends.llms.base import ChatModel, Message
from assistant.backends.routing import AUTO, HOSTED_ALIAS, route
from assistant.errors import ConfigurationError
from ingest.models import Chunk


@dataclass(frozen=True)
class RoutingRules:
    """Which profiles `auto` and `hosted` mean, and the fallback chain after any choice."""

    private: str = "local"
    hosted: str = "openai"
    fallback: tuple[str, ...] = ("local",)


@dataclass(frozen=True)
class BackendChoice:
    """A profile as a user chooses it: name, label, and whether it can be used and why not."""

    name: str
    label: str
    available: bool = True
    reason: str = ""  # why it is not available
    hosted: bool = False  # questions leave this machine
    offered: bool = True  # listed on the page even when unavailable (not an unset preset)

    @property
    def display(self) -> str:
        """The label, with the reason when the profile is unavailable."""
        return self.label if self.available else f"{self.label} (unavailable: {self.reason})"


_REFUSAL_LEAD = "Not sent to "


def _refusal(backend: str, sources: str) -> str:
    return (
        f"{_REFUSAL_LEAD}{backend}: the passages that answer this come from documents marked "
        f"local-only ({sources}). Ask with a local backend (or `auto`) to get an answer"
    )


def is_local_only_refusal(note: str | None) -> bool:
    """Whether an answer's note is this module's refusal to send local-only passages to a
    hosted profile asked for by name (the audit log records why as a value, not a sentence)."""
    return note is not None and any(p.startswith(_REFUSAL_LEAD) for p in note.split("; "))


class ChatModelPool:
    """Chat models by profile name, each built on first use, and the fallback chain."""

    def __init__(
        self,
        choices: Sequence[BackendChoice],
        factories: Mapping[str, Callable[[], ChatModel]],
        default: str,
        rules: RoutingRules | None = None,
    ):
        self.choices = list(choices)
        self.rules = rules or RoutingRules()
        for name in (*self.rules.fallback, self.rules.private, self.rules.hosted):
            self.choice(name)  # a typo in the routing settings fails at start
        self._factories = dict(factories)
        self._models: dict[str, ChatModel] = {}
        self._lock = threading.Lock()
        self.default = default

    def choice(self, name: str) -> BackendChoice:
        """The profile called `name` (`hosted`: the hosted one); `ConfigurationError` if none."""
        if name == HOSTED_ALIAS:
            name = self.rules.hosted
        for choice in self.choices:
            if choice.name == name:
                return choice
        names = ", ".join(c.name for c in self.choices)
        raise ConfigurationError(f"unknown backend {name!r}; choose one of {names}")

    def get(self, name: str) -> ChatModel:
        """The model of a usable profile, built on first use; `ConfigurationError` otherwise."""
        choice = self.choice(name)
        if not choice.available:
            raise ConfigurationError(f"backend {choice.label!r} is unavailable: {choice.reason}")
        if name not in self._factories:
            raise ConfigurationError(f"{name!r} routes questions; it is not a model")
        with self._lock:
            if name not in self._models:
                self._models[name] = self._factories[name]()
            return self._models[name]

    def hosted_available(self) -> bool:
        """Whether any usable profile sends questions off this machine."""
        return any(c.available and c.hosted for c in self.choices)

    def first(self, requested: str) -> ChatModel:
        """The model a question asked with `requested` goes to when no rule moves it: that
        profile's; for `auto`, the hosted one when it can be used, else the private one."""
        name = requested
        if requested == AUTO:
            hosted = self.choice(self.rules.hosted)
            name = hosted.name if hosted.available else self.rules.private
        return self.get(self.choice(name).name)

    def chain(self, name: str) -> list[ChatModel]:
        """`name`'s model, then each usable fallback not already in the chain; after a local
        model only local ones: a failure never moves a question off this machine."""
        models = [self.get(name)]
        local = not self.choice(name).hosted
        for other in self.rules.fallback:
            choice = self.choice(other)
            if other != name and choice.available and not (local and choice.hosted):
                model = self.get(other)
                if all(model is not m for m in models):
                    models.append(model)
        return models

    def router(self, requested: str) -> Router:
        """Per question: `auto` keeps sensitive questions on the private profile and sends the
        rest to the hosted one (or keeps them local when hosted is not configured)."""
        if requested != AUTO:
            self.choice(requested)  # unknown names fail now, not at the first question
        rules = self.rules

        def plan(question: str, history: Sequence[Message], passages: Sequence[Chunk] = ()) -> Plan:
            texts = [c.text for c in passages]
            chosen = route(requested, question, history, rules.private, rules.hosted, texts)
            name, reason = chosen.backend, chosen.reason
            if requested == AUTO and not self.choice(name).available:
                why = self.choice(name).reason
                name, reason = (
                    rules.private,
                    f"kept on {rules.private}: {rules.hosted} is unavailable ({why})",
                )
            marked = sorted({c.source for c in passages if c.meta.get("local_only")})
            if marked and self.choice(name).hosted:
                where = ", ".join(marked)
                if requested != AUTO:  # asked for by name: never sent, and said so
                    refusal = _refusal(self.choice(name).label, where)
                    return Plan((), refused=refusal, named=self.get(name))
                name = rules.private
                reason = f"kept on {name}: the passages come from local-only documents ({where})"
            return Plan(self.chain(name), reason)

        return plan
