# csto-bot as a container: the bot, its bundled knowledge base and a prebuilt search index, run as a
# non-root user. docs/deploy.md tells how to build, run, configure and update it.
#
#   docker build -t csto-bot .
#   docker run --rm --network=none csto-bot ask "Who are the members of the CSTO?"
#   docker compose up -d                      # the bot, with .env, a health check and a restart policy
#   docker build --build-arg EXTRAS=ingest -t csto-bot:ingest .   # with `csto-bot ingest` (PDF, HTML, DOCX)
#
# No secret goes into the image: the token and the webhook secret arrive through the environment at
# run time (.dockerignore keeps .env out of the build context). The one build argument, EXTRAS, names
# optional dependency groups of pyproject.toml; the default image has none.

# ---- build: wheels for the project and its dependencies, a virtual environment made of them, and
# the search index of the bundled knowledge base.
FROM python:3.12-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src

# Dependencies first, from pyproject.toml alone, so that a change of code or knowledge reuses this
# layer. Binary wheels only: the runtime has no compilers, and neither should the build need them.
# EXTRAS: comma-separated extras to include, e.g. "ingest" (the parsers of `csto-bot ingest`, about 85 MB).
ARG EXTRAS=""
COPY pyproject.toml ./
RUN python -c 'import os, tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
extras = [e.strip() for e in os.environ.get("EXTRAS", "").split(",") if e.strip()]; \
print("\n".join(p["dependencies"] + [d for e in extras for d in p["optional-dependencies"][e]]))' \
        > requirements.txt \
 && pip wheel --wheel-dir /wheels --only-binary=:all: --requirement requirements.txt

COPY README.md ./
COPY bot/ bot/
COPY knowledge/ knowledge/
# The venv has no pip of its own: the build stage's pip installs into it from /wheels, offline
# (requirements.txt: the dependencies and those of the EXTRAS asked for).
# numpy's own test suite (about 17 MB of the image's budget) is never run here: dropped.
RUN pip wheel --wheel-dir /wheels --no-deps . \
 && python -m venv --without-pip /opt/venv \
 && pip --python /opt/venv/bin/python install --no-index --find-links /wheels --requirement requirements.txt /wheels/csto_bot-*.whl \
 && find /opt/venv/lib/python3*/site-packages/numpy -depth -type d -name tests -exec rm -rf {} + \
 && /opt/venv/bin/csto-bot check

# The indexes of the bundled knowledge (BM25 and the sentence vectors), saved where the loader looks
# for them whatever INDEX_DIR says: beside the knowledge (<knowledge>/.index). Built by answering a
# question, which also proves that the installed bot answers, in Russian too; the fingerprint
# depends only on the knowledge, the analyzer, the bytes of the index-building modules and the
# encoder, so the runtime stage (same base, the same venv copied) loads them as they are and never
# embeds a passage at start-up.
RUN /opt/venv/bin/csto-bot ask "Who are the members of the CSTO?" > /tmp/answer.txt \
 && grep -q '“' /tmp/answer.txt \
 && /opt/venv/bin/csto-bot ask --json "Как ОДКБ адаптировалась к санкционному давлению?" > /tmp/answer.json \
 && grep -q '"answered": true' /tmp/answer.json \
 && index="$(/opt/venv/bin/python -I -c 'from bot.config import bundled_knowledge; print(bundled_knowledge() / ".index")')" \
 && test -s "$index/CURRENT" \
 && ls -d "$index"/vectors-* > /dev/null

# ---- runtime: the base image, the venv and nothing else (no compilers, no wheels, no sources).
FROM python:3.12-slim

LABEL org.opencontainers.image.title="csto-bot" \
      org.opencontainers.image.description="Telegram bot that answers questions about the CSTO and Eurasian security with verbatim, cited quotations from a curated knowledge base" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="docker.io/library/python:3.12-slim"

# A system user without a login shell or a home; /var/lib/csto-bot is its only writable directory
# (the heartbeat and the journal of handled updates: mount a volume there to keep them across
# restarts). TMPDIR (/tmp) holds the index of a mounted knowledge base: a tmpfs in compose.yaml.
RUN groupadd --gid 10001 csto \
 && useradd --uid 10001 --gid csto --no-log-init --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin csto \
 && install -d -o csto -g csto -m 0750 /var/lib/csto-bot

COPY --from=build /opt/venv /opt/venv

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEARTBEAT_FILE=/var/lib/csto-bot/heartbeat

WORKDIR /var/lib/csto-bot
USER 10001:10001

# Webhook mode only (WEBHOOK_URL set): the update endpoint and GET /healthz. Polling needs no port.
EXPOSE 8443

# Alive, not just importable: `csto-bot health` passes only while the running bot (`telegram`,
# polling or webhook) refreshes its heartbeat file (every <= 20 s; stale after 90 s). For one-shot
# commands (ask, check) it never runs; for an interactive console it reports unhealthy, which is
# harmless (or use `docker run --no-healthcheck ... console`).
HEALTHCHECK --interval=20s --timeout=10s --start-period=30s --retries=3 CMD ["csto-bot", "health"]

# Exec form: the bot is PID 1 and gets SIGTERM (stop: finishes the answers in hand) and SIGHUP
# (re-validate the knowledge and swap in a new index) directly.
ENTRYPOINT ["csto-bot"]
CMD ["telegram"]
