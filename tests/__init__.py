"""kb's tests. Like every entry point, the suite sets the offline environment before any import
of Hugging Face or Gradio (`make test` exports it too)."""

from assistant.wiring import enforce_offline

enforce_offline()
