"""A question -> ranked passages (dense + lexical)."""
