"""HTML to clean Markdown-like text: main content only, no navigation, banners or scripts."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag

from ingest.tables import ROWS, table_lines

_NOISE_TAGS = [
    "script",
    "style",
    "noscript",
    "nav",
    "header",
    "footer",
    "aside",
    "form",
    "button",
    "svg",
    "iframe",
    "template",
    "select",
    "input",
]
_NOISE_ROLES = {"navigation", "banner", "contentinfo", "search", "menu"}
_NOISE_CLASS = re.compile(
    r"(breadcrumb|banner|cookie[-_]?(banner|consent|notice|bar|popup)|^cookies?$|sidebar"
    r"|nocontent|(^|-)nav($|-)|(^|-)toc$|menu)"
)
# An id names one element, often after its content ("module-http.cookies", "tkinter.menu"):
# only ids that are wholly a noise word count.
_NOISE_ID = re.compile(r"^(nav|navigation|sidebar|menu|breadcrumbs?|banner|toc|cookies?)$")
_BLOCKS = [
    "p",
    "div",
    "section",
    "article",
    "main",
    "li",
    "ul",
    "ol",
    "pre",
    "blockquote",
    "dl",
    "dt",
    "dd",
    "figure",
    "figcaption",
]


# Text a browser never shows: a hostile page can hide instructions to a model there.
_HIDDEN_STYLE = re.compile(r"(display\s*:\s*none|visibility\s*:\s*hidden)", re.I)


def _is_hidden(tag: Tag) -> bool:
    return (
        tag.has_attr("hidden")
        or str(tag.get("aria-hidden") or "").lower() == "true"
        or bool(_HIDDEN_STYLE.search(str(tag.get("style") or "")))
    )


def _is_noise(tag: Tag) -> bool:
    if tag.get("role") in _NOISE_ROLES or _is_hidden(tag):
        return True
    if _NOISE_ID.match(str(tag.get("id") or "").lower()):
        return True
    return any(_NOISE_CLASS.search(token.lower()) for token in tag.get("class") or [])


def _drop_noise(root: Tag) -> None:
    for tag in root.find_all(_NOISE_TAGS):
        tag.decompose()
    for tag in root.find_all(True):
        if not tag.decomposed and _is_noise(tag):
            tag.decompose()


def _flatten_tables(root: Tag) -> None:
    """Each table becomes one paragraph of rows, each value with its column's name (the
    header: a `<thead>` or a first row of `<th>` cells); innermost tables first."""
    for table in reversed(root.find_all("table")):
        rows = [
            [" ".join(cell.get_text(" ").split()) for cell in row.find_all(["td", "th"])]
            for row in table.find_all("tr")
        ]
        first = table.find("tr")
        header = table.find("thead") is not None or (
            isinstance(first, Tag) and not first.find("td") and first.find("th") is not None
        )
        lines = table_lines(rows, has_header=header)
        caption = table.find("caption")
        if isinstance(caption, Tag) and caption.get_text(strip=True):
            lines.insert(0, " ".join(caption.get_text(" ").split()))
        table.replace_with(NavigableString("\n\n" + ROWS.join(lines) + "\n\n"))


def _mark_structure(root: Tag) -> None:
    """Turn headings into `#` lines and blocks into paragraphs before flattening to text."""
    _flatten_tables(root)
    for br in root.find_all("br"):
        br.replace_with("\n")
    for level in range(1, 7):
        for heading in root.find_all(f"h{level}"):
            text = " ".join(heading.get_text("").split())
            heading.replace_with(f"\n\n{'#' * level} {text}\n\n" if text else "")
    for block in root.find_all(_BLOCKS):
        prefix = "- " if block.name == "li" else ""
        block.insert_before(f"\n\n{prefix}")
        block.insert_after("\n\n")


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def html_to_text(html: str) -> tuple[str | None, str]:
    """Return (page title, cleaned text with `#` headings) of an HTML page."""
    soup = BeautifulSoup(html, "html.parser")
    title = " ".join(soup.title.get_text(" ").split()).split(" | ")[0] if soup.title else None
    root = (
        soup.find("main") or soup.find("article") or soup.find(None, {"role": "main"}) or soup.body
    )
    if not isinstance(root, Tag):
        root = soup
    _drop_noise(root)
    _mark_structure(root)
    return (title or None), _tidy(root.get_text(""))
