"""Files to documents to chunks: readers by suffix, text repair, structure-aware splitting.

Knows nothing about embeddings, indexes, prompts or models.
"""
