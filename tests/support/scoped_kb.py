"""A kb of three collections, each holding words found nowhere else, for the tests of access
by collection: `public` (costs), `hr` (the Quillfeather bonus) and `eng` (the Zephyrine
cluster). The page's parts over it use the fakes (scripted model, hashing embedder); the
scripted model quotes the first passage it is given, so a passage outside a caller's scope
that reached the model would show in the answer."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from assistant.audit.log import AuditLog
from assistant.frontends.web.events import PageParts
from tests.unit.assistant.conftest import indexed_retriever, make_page_parts

HR_WORD = "quillfeather"  # only in docs/hr/bonus.md
ENG_WORD = "zephyrine"  # only in docs/eng/deploy.md
# The questions never hold those words: a word in a response came from a passage.
HR_QUESTION = "What does the bonus pay each engineer at year end?"
ENG_QUESTION = "When does the cluster deploy models on premises?"
DOCS = {
    "public/.kb-collection": "public",
    "public/costs.md": "# Costs\n\nSelf-hosting open models is cheaper at very high volumes "
    "than per-token API fees.\n",
    "hr/.kb-collection": "hr",
    "hr/bonus.md": "# Quillfeather plan\n\nThe Quillfeather bonus pays each engineer a "
    "Quillfeather share at year end.\n",
    "eng/.kb-collection": "eng",
    "eng/deploy.md": "# Zephyrine rollout\n\nThe Zephyrine cluster deploys models on premises "
    "every Tuesday.\n",
}
# Two tokens, each opening one collection (the entries' own format).
PUBLIC_TOKEN = "tok-public-3f1c9a7e"
HR_TOKEN = "tok-hr-8d2b6e41"
TOKENS = (f"public-reader:{PUBLIC_TOKEN}:public", f"hr-reader:{HR_TOKEN}:hr")


def scoped_parts(folder: Path, logins: dict[str, frozenset[str] | None] | None = None) -> PageParts:
    """The documents indexed under `folder` (the current directory), the page's parts over
    them with an audit log in `folder`/audit, and the page logins given."""
    parts = make_page_parts(indexed_retriever(folder, DOCS), folder / "uploads")
    session = replace(parts.session, audit_log=AuditLog(folder / "audit"))
    return replace(parts, session=session, logins=logins or {})


def words_outside(text: str, *allowed: str) -> list[str]:
    """The secret words in `text` (any case) other than those `allowed`."""
    found = [word for word in (HR_WORD, ENG_WORD) if word in text.lower()]
    return [word for word in found if word not in allowed]
