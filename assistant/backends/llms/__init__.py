"""Chat-model backends behind one small protocol (`ChatModel`)."""
