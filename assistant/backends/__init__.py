"""Chat-model backends: the models themselves, their profiles, the pool, routing and fallback."""
