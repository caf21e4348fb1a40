"""The retrieval core: corpus, passages, index, retrieval and answers. Never imports discord."""
