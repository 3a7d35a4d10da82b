"""The assistant: question (and history) in, streamed tokens and a cited `Answer` out.

Steps: condense a follow-up into a standalone query, retrieve, refuse when retrieval is weak,
generate, then decide what to show: a refusal when the model declined, the best-matching
passage when the reply only echoed the passages, else the reply with application-made
citations.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.attribution import (
    attribute,
    evidence_sentence,
    sentences_to_embed,
    split_sentences,
)
from assistant.llms.base import ChatModel, Message, complete
from assistant.models import Answer, Citation
from assistant.prompting import answer_messages, condense_messages, passage_label
from assistant.refusal import is_echo, retrieval_is_weak, says_it_does_not_know
from index.embedders import Embedder
from index.models import Hit
from index.retriever import HybridRetriever

log = logging.getLogger(__name__)

NOT_COVERED = "The documents do not cover this."
# (lead shown to the user, note) for replies that are replaced by a quote of the best passage
ECHO = ("The model only repeated the passages", "the model's reply echoed the passages")
NO_REPLY = ("The model gave no answer of its own", "the model's reply was empty")


@dataclass(frozen=True)
class AnswerOptions:
    top_k: int = 4
    min_relevance: float = 0.30
    attribution_threshold: float = 0.45
    echo_threshold: float = 0.8
    max_tokens: int = 256
    temperature: float = 0.1


def _citation(n: int, hit: Hit, supports: str) -> Citation:
    return Citation(n, hit, supports, evidence_sentence(supports, hit.chunk.text))


class Assistant:
    def __init__(
        self,
        retriever: HybridRetriever,
        chat_model: ChatModel,
        embedder: Embedder,
        options: AnswerOptions | None = None,
    ):
        self.retriever = retriever
        self.chat_model = chat_model
        self.embedder = embedder
        self.options = options or AnswerOptions()

    def using(self, chat_model: ChatModel) -> Assistant:
        """The same documents and options answered by another chat model."""
        return Assistant(self.retriever, chat_model, self.embedder, self.options)

    def retrieve(self, query: str, top_k: int | None = None) -> list[Hit]:
        return self.retriever.retrieve(query, top_k or self.options.top_k)

    def ask(
        self, question: str, history: Sequence[Message] = (), top_k: int | None = None
    ) -> Answer:
        final = None
        for event in self.stream(question, history, top_k):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def stream(
        self, question: str, history: Sequence[Message] = (), top_k: int | None = None
    ) -> Iterator[str | Answer]:
        """Yield reply tokens as generated, then the final `Answer` (whose text may differ)."""
        started = time.perf_counter()
        query = self.condense(question, history)
        hits = self.retrieve(query, top_k)
        timings: dict[str, float | None] = {
            "retrieve_s": time.perf_counter() - started,
            "first_token_s": None,
        }
        if retrieval_is_weak(hits, self.options.min_relevance):
            yield self._refusal(
                question, query, hits, timings, started, "no passage is close enough"
            )
            return
        tokens: list[str] = []
        for token in self.chat_model.stream(
            answer_messages(query, hits),
            max_tokens=self.options.max_tokens,
            temperature=self.options.temperature,
        ):
            if timings["first_token_s"] is None:
                timings["first_token_s"] = time.perf_counter() - started
            tokens.append(token)
            yield token
        yield self._finish(question, query, hits, "".join(tokens).strip(), timings, started)

    def condense(self, question: str, history: Sequence[Message]) -> str:
        """A standalone query for retrieval; the question itself when there is no history."""
        if not history:
            return question
        try:
            reply = complete(self.chat_model, condense_messages(question, history), max_tokens=64)
        except Exception as exc:  # a failed rewrite must not lose the question
            log.warning(
                "could not condense the follow-up (%s); using it with the last question", exc
            )
            reply = ""
        line = reply.strip().splitlines()[0].strip().strip('"') if reply.strip() else ""
        if 3 <= len(line) <= 300 and not says_it_does_not_know(line):
            return line
        last_user = next((t["content"] for t in reversed(history) if t["role"] == "user"), "")
        return f"{last_user} {question}".strip()

    def _finish(
        self,
        question: str,
        query: str,
        hits: list[Hit],
        reply: str,
        timings: dict[str, float | None],
        started: float,
    ) -> Answer:
        if says_it_does_not_know(reply):
            return self._refusal(
                question, query, hits, timings, started, "the model found no answer"
            )
        sentences = [s for s in sentences_to_embed(reply) if s]
        passages = [h.chunk.text for h in hits]
        if not sentences:  # empty, or nothing but [n] markers
            return self._extract(question, query, hits, timings, started, NO_REPLY)
        if is_echo(reply, passages, self.options.echo_threshold):
            return self._extract(question, query, hits, timings, started, ECHO)
        result = attribute(
            reply,
            self.embedder.embed(sentences),
            self._passage_vectors(hits),
            passages,
            self.options.attribution_threshold,
        )
        citations = tuple(
            _citation(n, hits[n - 1], result.support.get(n, "")) for n in result.cited
        )
        note = None if citations else "No passage clearly supports this answer; check the sources."
        return self._answer(
            question, query, result.text, citations, hits, timings, started, note=note
        )

    def _passage_vectors(self, hits: list[Hit]) -> np.ndarray:
        """Stored vectors: no second embedding pass over the passages."""
        return self.retriever.state.store.vectors([h.chunk.id for h in hits])

    def _refusal(
        self,
        question: str,
        query: str,
        hits: list[Hit],
        timings: dict[str, float | None],
        started: float,
        why: str,
    ) -> Answer:
        nearest = "; ".join(f"[{n}] {passage_label(h)}" for n, h in enumerate(hits[:3], start=1))
        text = NOT_COVERED + (f" The nearest passages are: {nearest}." if nearest else "")
        return self._answer(
            question, query, text, (), hits, timings, started, refused=True, note=why
        )

    def _extract(
        self,
        question: str,
        query: str,
        hits: list[Hit],
        timings: dict[str, float | None],
        started: float,
        why: tuple[str, str],
    ) -> Answer:
        """Show the passage sentence closest to the question, quoted and cited, saying why."""
        candidates = [
            (n, s)
            for n, h in enumerate(hits, start=1)
            for s in split_sentences(h.chunk.text)
            if len(re.findall(r"\w+", s)) >= 5
        ]
        if not candidates:
            return self._refusal(question, query, hits, timings, started, why[1])
        vectors = self.embedder.embed([s for _, s in candidates])
        n, sentence = candidates[int(np.argmax(vectors @ self.embedder.embed([query])[0]))]
        text = f'{why[0]}; the closest passage says: "{sentence}" [{n}]'
        citation = Citation(n, hits[n - 1], sentence, sentence)
        return self._answer(
            question,
            query,
            text,
            (citation,),
            hits,
            timings,
            started,
            note=why[1],
        )

    def _answer(
        self,
        question: str,
        query: str,
        text: str,
        citations: tuple[Citation, ...],
        hits: list[Hit],
        timings: dict[str, float | None],
        started: float,
        refused: bool = False,
        note: str | None = None,
    ) -> Answer:
        timings = {**timings, "total_s": time.perf_counter() - started}
        return Answer(
            question,
            text,
            citations,
            tuple(hits),
            self.chat_model.backend,
            self.chat_model.model,
            timings,
            query,
            refused,
            note,
        )
