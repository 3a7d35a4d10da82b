"""Chunks to vectors to hits: embedders, FAISS store, BM25, fusion, manifest and persistence.

Knows nothing about prompts, chat models or frontends.
"""
