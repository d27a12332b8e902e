FROM python:3.11-slim
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md alembic.ini ./
COPY memory_service memory_service
COPY retrievers retrievers
COPY policies policies
COPY workers workers
COPY evals evals
COPY migrations migrations
# The CPU build of torch, pinned; an unpinned torch pulls several GB of CUDA wheels.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && pip install -e .
EXPOSE 8080
CMD ["memory-service", "serve", "--host", "0.0.0.0", "--port", "8080"]
