"""`kb eval`: the EVAL.md metrics over a JSON Lines question set."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.answering.evidence import choose_evidence_for_parts, evidence_text
from assistant.answering.models import Answer, Evidence
from assistant.answering.part_hits import hits_for_parts, hits_for_question
from assistant.answering.parts import question_parts
from assistant.answering.pipeline import Assistant
from assistant.errors import ConfigurationError
from assistant.guards.refusal import says_it_does_not_know
from index.retriever import HybridRetriever

TYPES = {"fact", "number", "compare", "multi", "unanswerable", "followup"}


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def is_hit(chunk_text: str, gold_snippets: list[str]) -> bool:
    """EVAL.md's hit rule: whitespace collapsed, case-insensitive containment of any snippet."""
    text = _squash(chunk_text)
    return any(_squash(s) in text for s in gold_snippets if s.strip())


def load_questions(path: Path) -> list[dict[str, Any]]:
    """The questions of a JSONL eval set; `ConfigurationError` names a bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from exc
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(item, dict) or not item.get("question") or item.get("type") not in TYPES:
            raise ConfigurationError(
                f"{path}:{number}: needs a `question` and a `type` in {sorted(TYPES)}"
            )
        questions.append(item)
    return questions


def retrieval_query(item: dict[str, Any]) -> str:
    """Without a model, a follow-up is retrieved with the previous user turn prepended."""
    history = item.get("history") or []
    last_user = next((t["content"] for t in reversed(history) if t.get("role") == "user"), "")
    return f"{last_user} {item['question']}".strip()


def first_hit_rank(texts: list[str], snippets: list[str]) -> int | None:
    """The rank (from 1) of the first text holding a gold snippet, or None."""
    return next((rank for rank, text in enumerate(texts, start=1) if is_hit(text, snippets)), None)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 4)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 4)


def share(flags: list[bool]) -> float | None:
    """The fraction of flags that are true, to 4 places; None for no flags."""
    return round(sum(flags) / len(flags), 4) if flags else None


def retrieval_metrics(ranks: list[int | None]) -> dict[str, float | None]:
    """hit@1/3/5 and mrr@10 from the rank of each answerable question's first hit."""
    hits = {f"hit@{k}": share([r is not None and r <= k for r in ranks]) for k in (1, 3, 5)}
    mrr = round(sum(1 / r for r in ranks if r) / len(ranks), 4) if ranks else None
    return {**hits, "mrr@10": mrr}


@dataclass
class _Tally:
    ranks: list[int | None] = field(default_factory=list)
    retrieve_s: list[float] = field(default_factory=list)
    answer_s: list[float] = field(default_factory=list)
    answer_ok: list[bool] = field(default_factory=list)
    refusal_ok: list[bool] = field(default_factory=list)
    citation_ok: list[bool] = field(default_factory=list)
    cited_passages: list[int] = field(default_factory=list)  # per scored answer, distinct
    cited_gold: list[int] = field(default_factory=list)  # of those, the ones holding a snippet
    over_refused: list[bool] = field(default_factory=list)
    evidence_ok: list[bool] = field(default_factory=list)
    evidence_s: list[float] = field(default_factory=list)
    first_token_s: list[float] = field(default_factory=list)
    prompt_tokens: list[float] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    answered_by: Counter[tuple[str, str]] = field(default_factory=Counter)  # (backend, model)


def _score_retrieval(retriever: HybridRetriever, item: dict[str, Any], tally: _Tally) -> int | None:
    started = time.perf_counter()
    hits = hits_for_question(retriever.retrieve, retrieval_query(item), 10)
    tally.retrieve_s.append(time.perf_counter() - started)
    rank = first_hit_rank([h.chunk.text for h in hits], item.get("gold_snippets") or [])
    tally.ranks.append(rank)
    return rank


def holds_terms(text: str, item: dict[str, Any]) -> bool:
    """Every `answer_must` term in `text`, case-insensitively (EVAL.md's answer_ok rule)."""
    return all(term.lower() in text.lower() for term in item.get("answer_must") or [])


def _score_evidence(evidence: Evidence | None, item: dict[str, Any], tally: _Tally) -> bool:
    """evidence_ok: the quotes shown before the reply hold every `answer_must` term."""
    ok = evidence is not None and holds_terms(evidence_text(evidence.quotes), item)
    tally.evidence_ok.append(ok)
    if evidence is not None:
        tally.evidence_s.append(evidence.seconds)
    return ok


def retrieved_evidence(retriever: HybridRetriever, item: dict[str, Any], top_k: int) -> Evidence:
    """Without a model (`--no-answers`): the evidence for the retrieval query's top passages."""
    started = time.perf_counter()
    query = retrieval_query(item)
    parts = question_parts(query)
    hits = hits_for_parts(retriever.retrieve, query, parts.parts, top_k).hits
    quotes = choose_evidence_for_parts(query, parts, hits, retriever.embedder)
    return Evidence(quotes, time.perf_counter() - started)


def cited_gold_passages(answer: Answer, item: dict[str, Any]) -> dict[str, list[int]] | None:
    """The passage numbers an answer cites, and those holding a gold snippet (EVAL.md's hit
    rule); None for a question the citation metrics leave out (refused, or no gold snippets)."""
    snippets = item.get("gold_snippets") or []
    if answer.refused or item["type"] == "unanswerable" or not snippets:
        return None
    cited = {c.n: c.hit for c in answer.citations}  # a passage cited twice counts once
    return {
        "cited_passages": sorted(cited),
        "cited_gold": sorted(n for n, hit in cited.items() if is_hit(hit.chunk.text, snippets)),
    }


def _score_citations(answer: Answer, item: dict[str, Any], tally: _Tally) -> dict[str, Any]:
    """citation_precision/recall inputs; the row fields are absent when the question is left out."""
    cited = cited_gold_passages(answer, item)
    if cited is None:
        return {}
    tally.cited_passages.append(len(cited["cited_passages"]))
    tally.cited_gold.append(len(cited["cited_gold"]))
    return cited


def citation_metrics(cited_passages: list[int], cited_gold: list[int]) -> dict[str, float | None]:
    """Micro precision (gold cited passages / cited passages, over the whole set) and recall
    (share of scored answers citing at least one gold passage; no citations counts as a miss)."""
    cited = sum(cited_passages)
    return {
        "citation_precision": round(sum(cited_gold) / cited, 4) if cited else None,
        "citation_recall": share([gold > 0 for gold in cited_gold]),
    }


def _score_answer(assistant: Assistant, item: dict[str, Any], tally: _Tally) -> dict[str, Any]:
    answer = assistant.ask(item["question"], item.get("history") or [])
    tally.answered_by[(answer.backend, answer.model)] += 1
    if item["type"] != "unanswerable":
        _score_evidence(answer.evidence, item, tally)
    tally.answer_s.append(float(answer.timings["total_s"] or 0.0))
    if answer.timings.get("first_token_s") is not None:
        tally.first_token_s.append(float(answer.timings["first_token_s"] or 0.0))
    if answer.usage:
        tally.prompt_tokens.append(float(answer.usage["prompt_tokens"]))
    given = len(answer.passages)
    tally.citation_ok.append(
        all(1 <= c.n <= given for c in answer.citations)
        and all(f"[{n}]" not in answer.text for n in range(given + 1, 100))
    )
    text = answer.text.lower()
    if item["type"] == "unanswerable":
        ok = answer.refused or says_it_does_not_know(answer.text)
        tally.refusal_ok.append(ok)
    else:
        ok = holds_terms(text, item)
        tally.answer_ok.append(ok)
        tally.over_refused.append(answer.refused)
    return {
        "ok": ok,
        "answer": answer.text,
        "refused": answer.refused,
        "note": answer.note,
        "citations": [c.n for c in answer.citations],
        "total_s": answer.timings["total_s"],
        **_score_citations(answer, item, tally),
    }


def evaluate(
    retriever: HybridRetriever,
    assistant: Assistant | None,
    questions: list[dict[str, Any]],
    progress: Callable[[int, int], None] | None = None,
    evidence_top_k: int = 4,
) -> dict[str, Any]:
    """Metrics of EVAL.md; answer metrics are None when `assistant` is None (`--no-answers`)."""
    tally = _Tally()
    for done, item in enumerate(questions, start=1):
        row: dict[str, Any] = {"id": item.get("id"), "type": item["type"]}
        if item["type"] != "unanswerable":
            row["first_hit_rank"] = _score_retrieval(retriever, item, tally)
        if assistant is not None:
            row.update(_score_answer(assistant, item, tally))
        elif item["type"] != "unanswerable":
            evidence = retrieved_evidence(retriever, item, evidence_top_k)
            row["evidence_ok"] = _score_evidence(evidence, item, tally)
        tally.rows.append(row)
        if progress:
            progress(done, len(questions))
    return _metrics(tally, questions, assistant, retriever.embedder_id)


def _by_type(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per question type: how many, hit@5 (answerable types) and the share answered well."""
    out: dict[str, dict[str, Any]] = {}
    for kind in sorted({row["type"] for row in rows}):
        own = [row for row in rows if row["type"] == kind]
        ranks = [row.get("first_hit_rank") for row in own]
        out[kind] = {
            "questions": len(own),
            "hit@5": None if kind == "unanswerable" else share([bool(r and r <= 5) for r in ranks]),
            "ok": share([row["ok"] for row in own if "ok" in row]),
        }
    return out


def _metrics(
    tally: _Tally, questions: list[dict[str, Any]], assistant: Assistant | None, embedder_id: str
) -> dict[str, Any]:
    answers = assistant is not None
    ranks = tally.ranks
    most = tally.answered_by.most_common(1)
    backend, model = most[0][0] if most else (None, None)
    return {
        "questions": len(questions),
        "answerable": len(ranks),
        "unanswerable": sum(q["type"] == "unanswerable" for q in questions),
        **retrieval_metrics(ranks),
        "answer_ok": share(tally.answer_ok) if answers else None,
        "refusal_ok": share(tally.refusal_ok) if answers else None,
        "citation_ok": share(tally.citation_ok) if answers else None,
        # kb's addition: do the cited passages hold a gold snippet (citation_ok cannot fail);
        # None under --no-answers, as nothing was cited
        **citation_metrics(tally.cited_passages, tally.cited_gold),
        # kb's addition: answerable questions kb declined (a quote may still hold the answer)
        "answerable_refused": share(tally.over_refused) if answers else None,
        # kb's addition: answerable questions whose evidence, shown first, holds the answer terms
        "evidence_ok": share(tally.evidence_ok),
        "latency": {
            "retrieve_p50_s": _percentile(tally.retrieve_s, 50),
            "retrieve_p95_s": _percentile(tally.retrieve_s, 95),
            "answer_p50_s": _percentile(tally.answer_s, 50),
            "answer_p95_s": _percentile(tally.answer_s, 95),
            "first_token_p50_s": _percentile(tally.first_token_s, 50),
            "first_token_p95_s": _percentile(tally.first_token_s, 95),
            "evidence_p50_s": _percentile(tally.evidence_s, 50),
            "evidence_p95_s": _percentile(tally.evidence_s, 95),
        },
        # kb's addition: prompt tokens per answer (every model call for it), median
        "prompt_tokens_p50": _percentile(tally.prompt_tokens, 50),
        "by_type": _by_type(tally.rows),
        # the backend and model that answered most questions (all of them, unless one failed)
        "backend": backend,
        "model": model,
        "embedder": embedder_id,
        "per_question": tally.rows,
    }
