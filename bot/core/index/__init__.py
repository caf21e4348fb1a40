"""Passages -> vectors and BM25 in index generations on disk."""
