"""Models of the book. Every language model maps ``(ids, state) -> (logits, state)``."""

from .bigram import BigramLM

__all__ = ["BigramLM"]
