"""Page furniture left out at ingest: each rule on a made-up page, prose that looks like
furniture kept, and the corpus's scraped article read with its ads and captions gone."""

from pathlib import Path

import pytest

from ingest.furniture import strip_furniture
from ingest.readers import read_document

CORPUS = Path(__file__).parents[3] / "corpus"

PAGE = """Why self-host

Self-hosting keeps the data on your own servers.

Team photo

Source: Image created by author

Cheap GPUs for AI from $0.49/hr

Accelerate your AI projects with our cloud, starting at just $0.49/hr.

👉 Learn more and claim your GPU today!

We use cookies to improve your experience. Accept all cookies

Home | Blog | AI | Self-hosting

Hosting your own model costs engineering time.

Further reading

- [Another post](https://example.com/post)
- [A third post](https://example.com/third)
"""


def test_each_kind_of_furniture_is_left_out_and_listed() -> None:
    cleaned = strip_furniture(PAGE)
    assert cleaned.dropped == (
        "Team photo",
        "Source: Image created by author",
        "Cheap GPUs for AI from $0.49/hr",
        "Accelerate your AI projects with our cloud, starting at just $0.49/hr.",
        "👉 Learn more and claim your GPU today!",
        "We use cookies to improve your experience. Accept all cookies",
        "Home | Blog | AI | Self-hosting",
        "Further reading",
        "- [Another post](https://example.com/post)",
        "- [A third post](https://example.com/third)",
    )
    assert "Self-hosting keeps the data on your own servers." in cleaned.text
    assert "Hosting your own model costs engineering time." in cleaned.text
    assert "\n\n\n" not in cleaned.text


@pytest.mark.parametrize(
    "prose",
    [
        "Sign up for the service to get an API key.",  # an instruction, ending in a full stop
        "Learn more about licences in section 3.",
        "| Source | Licence | Cost |",  # a table row, not a menu
        "Our engineers help you migrate, which costs $40 per hour of their time.",  # no button
        "The source: a survey of 300 companies in 2024.",
        "## Comments in the code",  # a heading that only starts like one
    ],
)
def test_prose_that_resembles_furniture_is_kept(prose: str) -> None:
    page = f"Intro paragraph of the article.\n\n{prose}\n\nMore text follows here.\n"
    assert strip_furniture(page).dropped == ()


def test_a_page_without_furniture_comes_back_unchanged() -> None:
    text = "# Title\n\nA paragraph.\n\n\n\nAnother one, after three blank lines.\n"
    assert strip_furniture(text).text == text


def test_the_civo_article_loses_its_ads_and_captions_and_keeps_its_prose() -> None:
    document = read_document(CORPUS / "001_5c11a3054be18c61.txt")
    dropped = " ".join(document.dropped)
    for furniture in ("Learn More", "Image created by author", "$0.79/hr", "Further resources"):
        assert furniture in dropped and furniture not in document.text
    assert "NVIDIA-powered cloud GPUs" in dropped
    assert "Typically, these models are offered as Software as a Service (SaaS)" in document.text
    assert "Key Takeaways" in document.text
    assert document.text.count("What are Open Source LLMs") == 1  # the heading, not the caption


def test_the_blog_posts_front_matter_stays_and_its_further_reading_goes() -> None:
    document = read_document(CORPUS / "003_949bc528a4e05513.txt")
    assert document.title and document.title.startswith("Open-Source vs. Proprietary LLMs")
    assert document.text.startswith("---\n") and "Further Reading" not in document.text
    assert document.text.rstrip().endswith("committing exclusively to one philosophy or the other.")
