"""Ranked passages -> the answer, cited, or an honest refusal."""
