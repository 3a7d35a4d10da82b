"""The real app (`app.py`, real embedder and GGUF) answers OpenAI clients on its own port: the
`openai` SDK streaming, and a third-party client, Simon Willison's `llm` CLI, configured with
kb as an OpenAI-compatible model. Both ask `kb-local-small` (SmolLM2): the API is under test, not
the default model's answers, which `kb eval` measures."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from tests.conftest import require

pytestmark = pytest.mark.e2e

QUESTION = "Why do privacy and compliance push teams to deploy models on-premise?"


def test_the_openai_sdk_streams_a_cited_answer_from_the_real_app(app_url: str) -> None:
    client = openai.OpenAI(base_url=f"{app_url}v1", api_key="unused", max_retries=0)
    ids = {m.id for m in client.models.list()}
    assert {"kb-local", "kb-local-small", "kb-auto"} <= ids
    chunks = list(
        client.chat.completions.create(
            model="kb-local-small", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    kb = (chunks[-1].model_extra or {})["kb"]
    assert text.strip() and chunks[-1].choices[0].finish_reason == "stop"
    assert kb["passages"] and kb["backend"] == "local-small"
    for citation in kb["citations"]:  # every cited passage is marked in the text
        assert f"[{citation['n']}]" in text and citation["source"].startswith("corpus/")


def test_the_llm_cli_answers_through_kb(app_url: str, tmp_path: Path) -> None:
    llm = shutil.which("llm", path=str(Path(sys.executable).parent))
    require(llm is not None, "the llm CLI is not installed (pip install -e '.[dev]')")
    (tmp_path / "extra-openai-models.yaml").write_text(
        f"- model_id: kb\n  model_name: kb-local-small\n  api_base: {app_url}v1\n"
    )
    env = {**os.environ, "LLM_USER_PATH": str(tmp_path), "OPENAI_API_KEY": "unused"}
    result = subprocess.run(
        [str(llm), "-m", "kb", QUESTION], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), result.stderr  # its length is the model's choice (issue 31)
