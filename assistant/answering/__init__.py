"""Answering a question: retrieve, choose evidence and context, prompt the model, cite the reply."""
