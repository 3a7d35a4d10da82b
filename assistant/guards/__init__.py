"""What kb checks before it shows a reply: citations, grounding, refusal, links."""
