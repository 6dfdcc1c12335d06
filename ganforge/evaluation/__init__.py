"""Evaluation: how good a generator's samples are (``ganforge eval``), EMA of its weights, training curves."""
