"""Question to cited answer: prompting, chat-model backends, attribution, refusal, wiring."""
