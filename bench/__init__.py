"""Benchmarks, run as `python -m bench.NAME`. Like every entry point, they set the offline
environment first, before any of them imports Hugging Face or Gradio."""

from assistant.wiring import enforce_offline

enforce_offline()
