# ChainMatch API image. CPU only: torch comes from the CPU wheel index, never the multi-GB CUDA build.
FROM python:3.11-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CHAINMATCH_DATA_DIR=/var/lib/chainmatch \
    CHAINMATCH_SAMPLE_DIR=/app/data/sample \
    CHAINMATCH_ALIAS_DIR=/app/data/aliases \
    HF_HUB_OFFLINE=1

RUN useradd --create-home --uid 10001 chainmatch \
    && mkdir -p /var/lib/chainmatch && chown chainmatch /var/lib/chainmatch

WORKDIR /app
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY api ./api
COPY recommender ./recommender
COPY models ./models
COPY chainmatch ./chainmatch
COPY data ./data
RUN pip install ".[postgres]"

USER chainmatch
VOLUME ["/var/lib/chainmatch"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD \
    python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["chainmatch", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
