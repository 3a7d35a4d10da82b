"""The assistant: question (and history) in, evidence, streamed tokens and a cited `Answer` out.

Steps: condense a follow-up into a standalone query, retrieve, refuse when retrieval is weak or
the question names something no passage mentions, show the evidence (the passage sentences that
best answer it), generate, then decide what to show: when the model declined, added nothing to
the question or gave figures no passage holds, the evidence, labelled as what the documents say;
the evidence too when the reply only echoed the passages; else the reply with application-made
citations. Streamed text and answers carry only links the passages hold, and no images
(`assistant.guards.links`).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from assistant.answering.antecedents import with_antecedents
from assistant.answering.evidence import choose_evidence_for_parts, evidence_text
from assistant.answering.models import (
    Answer,
    AnswerEvent,
    AnswerOptions,
    AnswerStream,
    Citation,
    Evidence,
)
from assistant.answering.part_hits import PartHits, hits_for_parts
from assistant.answering.parts import Parts, question_parts
from assistant.answering.prompting import (
    answer_messages,
    condense_messages,
    passage_label,
    template,
)
from assistant.answering.replies import (
    DECLINED_LEAD,
    ECHO_LEAD,
    ECHO_NOTE,
    FOUND_NO_ANSWER,
    NO_ANSWER_LEAD,
    NOT_COVERED,
    PART_PASSAGES,
    SWAPPED_LEAD,
    SWAPPED_NOTE,
    found_no_answer,
    joined_part_replies,
    without_gap_citations,
)
from assistant.answering.selection import (
    SelectedPassage,
    close_hits,
    focused_passages,
    selected_passages,
)
from assistant.answering.sides import swapped_sides
from assistant.backends.fallback import (
    Restart,
    Router,
    Turn,
    complete_with_fallback,
    stream_with_fallback,
)
from assistant.backends.llms.base import Message, Price, usage_summary
from assistant.errors import KbError
from assistant.guards.attribution import attribute, evidence_sentence, sentences_to_embed
from assistant.guards.grounding import (
    adds_nothing,
    picks_an_option,
    repeats_instructions,
    unmentioned_names,
    unsupported_numbers,
)
from assistant.guards.links import LinkGuard, defuse_links
from assistant.guards.refusal import is_echo, retrieval_is_weak, says_it_does_not_know
from index.embedders import Embedder
from index.models import Hit
from index.retriever import HybridRetriever

log = logging.getLogger(__name__)


def _link_sources(draft: _AnswerInProgress) -> list[str]:
    """What an answer may take URLs from (`assistant.guards.links`): the passages and the question."""
    return [h.chunk.text for h in draft.hits] + [draft.question, draft.query]


def _citation(n: int, hit: Hit, supports: str) -> Citation:
    return Citation(n, hit, supports, evidence_sentence(supports, hit.chunk.text))


@dataclass
class _AnswerInProgress:
    """One question on its way to an `Answer`."""

    question: str
    query: str
    turn: Turn
    started: float
    hits: list[Hit] = field(default_factory=list)
    timings: dict[str, float | None] = field(default_factory=dict)
    evidence: Evidence | None = None
    parts: Parts = field(default_factory=Parts)
    by_part: tuple[tuple[int, ...], ...] = ()  # each part's own passages (chunk ids)
    part_replies: list[str] = field(default_factory=list)


class Assistant:
    """Answers from the documents with the backends `router` plans for each question."""

    def __init__(
        self,
        retriever: HybridRetriever,
        router: Router,
        embedder: Embedder,
        options: AnswerOptions | None = None,
        prices: Mapping[str, Price] | None = None,
    ):
        self.retriever = retriever
        self.router = router
        self.embedder = embedder
        self.options = options or AnswerOptions()
        self.prices = dict(prices or {})

    def routed(self, router: Router) -> Assistant:
        """The same documents and options; `router` picks the backends for each question."""
        return Assistant(self.retriever, router, self.embedder, self.options, self.prices)

    def with_retriever(self, retriever: HybridRetriever) -> Assistant:
        """The same backends and options searching with `retriever` (e.g. a scoped one)."""
        searching = copy.copy(self)
        searching.retriever = retriever
        return searching

    def scoped(self, collections: Collection[str] | None, local_only: bool = True) -> Assistant:
        """The same assistant searching only `collections` (None or empty: all of them),
        without local-only documents when `local_only` is False."""
        return self.with_retriever(self.retriever.scoped(collections, local_only))

    def _turn(self, question: str, history: Sequence[Message], hits: Sequence[Hit] = ()) -> Turn:
        """The backends for a question: planned again once its passages are known, as they
        go to the model too (assistant/backends/routing.py)."""
        plan = self.router(question, history, [h.chunk for h in hits])
        return Turn(plan.chain, route=plan.reason, refused=plan.refused, named=plan.named)

    def _replanned(
        self, turn: Turn, question: str, history: Sequence[Message], hits: Sequence[Hit]
    ) -> Turn:
        """The turn planned again with its passages; a backend that already failed in this
        turn (condensing) stays failed."""
        new = self._turn(question, history, hits)
        failed = [turn.chain[i] for i in turn.failed]
        new.failed = {i for i, m in enumerate(new.chain) if any(m is f for f in failed)}
        new.restarts = list(turn.restarts)
        return new

    def retrieve(self, query: str, top_k: int | None = None) -> list[Hit]:
        """The `top_k` best passages for `query` (hybrid: dense and BM25)."""
        return self.retriever.retrieve(query, top_k or self.options.top_k)

    def retrieve_parts(self, query: str, parts: Parts, top_k: int | None = None) -> PartHits:
        """The `top_k` best passages for `query` and each of its parts, every part keeping at
        least one (`assistant.answering.part_hits`)."""
        return hits_for_parts(self.retrieve, query, parts.parts, top_k or self.options.top_k)

    def ask(
        self, question: str, history: Sequence[Message] = (), top_k: int | None = None
    ) -> Answer:
        """The final `Answer` to `question`, without the streamed events."""
        return AnswerStream(self.stream(question, history, top_k)).answer()

    def stream(
        self, question: str, history: Sequence[Message] = (), top_k: int | None = None
    ) -> Iterator[AnswerEvent]:
        """Yield the `Evidence` (before the model reads its prompt), then reply text as generated
        (whole words), a `Restart` when a backend failed and the next one starts over, then the
        final `Answer` (whose text may differ from the tokens)."""
        turn = self._turn(question, history)
        draft = _AnswerInProgress(question, "", turn, time.perf_counter())
        draft.query = self.condense(question, history, turn)
        draft.parts = question_parts(draft.query)
        found = self.retrieve_parts(draft.query, draft.parts, top_k)
        draft.hits, draft.by_part = close_hits(found.hits, self.options.drop_below), found.by_part
        draft.timings = {"retrieve_s": time.perf_counter() - draft.started, "first_token_s": None}
        if retrieval_is_weak(draft.hits, self.options.min_relevance):
            yield self._refusal(draft, "no passage is close enough")
            return
        missing = unmentioned_names(draft.query, [h.chunk.text for h in draft.hits])
        if missing:
            yield self._refusal(draft, f"no passage mentions {', '.join(missing)}")
            return
        draft.turn = self._replanned(draft.turn, question, history, draft.hits)
        yield self._evidence(draft)
        if draft.turn.refused:  # the documents are shown; nothing is sent anywhere
            why = draft.turn.refused
            yield self._show_evidence_instead(draft, why, why, refused=True)
            return
        tokens: list[str] = []
        yield from self._generate(draft, tokens)
        yield self._finish(draft, self._reply(draft, tokens))

    def _reply(self, draft: _AnswerInProgress, tokens: list[str]) -> str:
        """The model's whole reply; for a compound question, the parts' replies joined."""
        if not draft.part_replies:
            return "".join(tokens).strip()
        return joined_part_replies(draft.parts.parts, draft.part_replies)

    def _evidence(self, draft: _AnswerInProgress) -> Evidence:
        """What the documents say, chosen before the model reads its prompt."""
        sources = _link_sources(draft)
        quotes = tuple(  # a quoted passage may hold an image or a tag: shown inert, as replies are
            replace(
                q,
                supports=defuse_links(q.supports, sources),
                evidence=defuse_links(q.evidence, sources),
            )
            for q in choose_evidence_for_parts(draft.query, draft.parts, draft.hits, self.embedder)
        )
        draft.evidence = Evidence(quotes, time.perf_counter() - draft.started)
        draft.timings["evidence_s"] = draft.evidence.seconds
        return draft.evidence

    def _generate(self, draft: _AnswerInProgress, tokens: list[str]) -> Iterator[str | Restart]:
        """Stream the reply: one prompt for a simple question; for a compound one, a small
        prompt per part over that part's own passages, the replies one after the other (a small
        model asked all parts in one prompt answers one of them, or talks about "the parts")."""
        if not draft.parts.parts:
            messages = answer_messages(draft.query, self._context(draft))
            yield from self._stream_reply(draft, messages, tokens, self.options.max_tokens)
            return
        share = max(64, self.options.max_tokens // len(draft.parts.parts))
        for i, part in enumerate(draft.parts.parts):
            before = "".join(tokens)
            piece: list[str] = []
            messages = answer_messages(part, self._part_context(draft, i))
            yield from self._stream_reply(draft, messages, piece, share, replay=before)
            draft.part_replies.append("".join(piece).strip())
            tokens.extend([*piece, " "])
            yield " "

    def _stream_reply(
        self,
        draft: _AnswerInProgress,
        messages: list[Message],
        tokens: list[str],
        max_tokens: int,
        replay: str = "",
    ) -> Iterator[str | Restart]:
        """Stream one reply, whole words at a time with links defused (`LinkGuard`: a page
        rendering the partial reply must not fetch an image); the raw pieces go to `tokens`.
        After a backend failed, `replay` (the earlier parts' replies) is shown again."""
        guard = LinkGuard(_link_sources(draft))
        for event in stream_with_fallback(
            draft.turn, messages, max_tokens=max_tokens, temperature=self.options.temperature
        ):
            if isinstance(event, Restart):
                tokens.clear()
                guard = LinkGuard(_link_sources(draft))
                draft.timings["first_token_s"] = None
                yield event
                if replay:
                    yield replay
                continue
            if draft.timings["first_token_s"] is None:
                draft.timings["first_token_s"] = time.perf_counter() - draft.started
            tokens.append(event)
            shown = guard.feed(event)
            if shown:
                yield shown
        rest = guard.flush()
        if rest:
            yield rest

    def _part_context(self, draft: _AnswerInProgress, part: int) -> list[SelectedPassage]:
        """A part's own passages (at most `PART_PASSAGES`, its best first, topped up from the
        question's), whole, under their numbers among all the passages so citations map."""
        number = {h.chunk.id: n for n, h in enumerate(draft.hits, start=1)}
        own = [number[c] for c in draft.by_part[part] if c in number]
        ranked = list(dict.fromkeys([*own, *number.values()]))[:PART_PASSAGES]
        texts = focused_passages(draft.hits, self.options.once_only)
        return [SelectedPassage(n, "", texts[n - 1]) for n in ranked]

    def _context(self, draft: _AnswerInProgress) -> Sequence[str | SelectedPassage]:
        """What the model reads: the best sentences within the word budget, or (0) whole
        passages."""
        budget = self.options.context_words
        if budget > 0:
            return selected_passages(draft.query, draft.hits, self.embedder, budget)
        return focused_passages(draft.hits, self.options.once_only)

    def condense(self, question: str, history: Sequence[Message], turn: Turn | None = None) -> str:
        """A standalone query for retrieval; the question itself when there is no history."""
        if not history:
            return question
        turn = turn or self._turn(question, history)
        try:
            reply = complete_with_fallback(
                turn, condense_messages(question, history), max_tokens=64
            )
        except KbError as exc:  # a failed rewrite must not lose the question
            log.warning(
                "could not condense the follow-up (%s); using it with the last question", exc
            )
            reply = ""
        line = reply.strip().splitlines()[0].strip().strip('"') if reply.strip() else ""
        # A rewrite that brings no word in from the conversation resolved nothing.
        resolved = not adds_nothing(line, question)
        if 3 <= len(line) <= 300 and resolved and not says_it_does_not_know(line):
            return line
        last_user = next((t["content"] for t in reversed(history) if t["role"] == "user"), "")
        return f"{last_user} {question}".strip()

    def _finish(self, draft: _AnswerInProgress, reply: str) -> Answer:
        passages = [h.chunk.text for h in draft.hits]
        problem = self._unusable(draft, reply, passages)
        if problem:
            lead = NO_ANSWER_LEAD if problem == FOUND_NO_ANSWER else DECLINED_LEAD
            return self._show_evidence_instead(draft, lead, problem, refused=True)
        options = self.options
        if is_echo(reply, passages, options.echo_threshold, options.echo_min_words):
            return self._show_evidence_instead(draft, ECHO_LEAD, ECHO_NOTE, refused=False)
        if draft.parts.sides and swapped_sides(reply, draft.parts.sides, passages, self.embedder):
            return self._show_evidence_instead(draft, SWAPPED_LEAD, SWAPPED_NOTE, refused=False)
        reply = defuse_links(with_antecedents(reply, passages), _link_sources(draft))
        sentences = [s for s in sentences_to_embed(reply) if s]
        result = attribute(
            reply,
            self.embedder.embed(sentences),
            self.retriever.vectors_of(draft.hits),
            passages,
            options.attribution_threshold,
        )
        citations = tuple(
            _citation(n, draft.hits[n - 1], result.support.get(n, "")) for n in result.cited
        )
        note = None if citations else "No passage clearly supports this answer; check the sources."
        return self._answer(draft, without_gap_citations(result.text), citations, note=note)

    def _unusable(self, draft: _AnswerInProgress, reply: str, passages: list[str]) -> str | None:
        """Why the reply must not be shown as an answer, or None when it may."""
        # A reply that answers one part and says another is missing is kept.
        if found_no_answer(reply, draft.query):
            return FOUND_NO_ANSWER
        if adds_nothing(reply, draft.query) and not picks_an_option(reply, draft.query):
            return "the model's reply added nothing to the question"
        if repeats_instructions(reply, template("system"), passages):
            return "the model's reply repeated its instructions"
        invented = unsupported_numbers(reply, draft.query, passages)
        if invented:
            return f"the model's reply gave {', '.join(invented)}, which no passage holds"
        return None

    def _refusal(self, draft: _AnswerInProgress, why: str) -> Answer:
        labels = [f"[{n}] {passage_label(h)}" for n, h in enumerate(draft.hits[:3], start=1)]
        nearest = "; ".join(labels)
        text = NOT_COVERED + (f" The nearest passages are: {nearest}." if nearest else "")
        return self._answer(draft, text, (), refused=True, note=why)

    def _show_evidence_instead(
        self, draft: _AnswerInProgress, lead: str, why: str, refused: bool
    ) -> Answer:
        """`lead`, then the evidence shown before the reply, quoted and cited; a plain refusal
        when no passage has a sentence to quote."""
        quotes = draft.evidence.quotes if draft.evidence else ()
        if not quotes:
            return self._refusal(draft, why)
        text = f"{lead}: {evidence_text(quotes)}"
        return self._answer(draft, text, quotes, refused=refused, note=why, evidence_in_text=True)

    def _answer(
        self,
        draft: _AnswerInProgress,
        text: str,
        citations: tuple[Citation, ...],
        refused: bool = False,
        note: str | None = None,
        evidence_in_text: bool = False,
    ) -> Answer:
        model = draft.turn.labelled_by
        notes = [r.note for r in draft.turn.restarts] + ([note] if note else [])
        return Answer(
            draft.question,
            defuse_links(text, _link_sources(draft)),
            citations,
            tuple(draft.hits),
            model.backend,
            model.model,
            {**draft.timings, "total_s": time.perf_counter() - draft.started},
            draft.query,
            refused,
            "; ".join(notes) or None,
            route=draft.turn.route,
            usage=usage_summary(draft.turn.usage, self.prices.get(model.backend)),
            fell_back=bool(draft.turn.restarts),
            evidence=draft.evidence,
            evidence_in_text=evidence_in_text,
            server=draft.turn.server,
        )
