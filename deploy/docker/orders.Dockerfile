# The orders sample service (sample_service/), as docker-compose.yml runs it.
# Dependencies are the versions requirements.lock pins (what `make audit` checks).
# Build from the repository root: docker build -f deploy/docker/orders.Dockerfile .
FROM python:3.11.10-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY sloctl ./sloctl
COPY server ./server
COPY sample_service ./sample_service
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && pip wheel --no-cache-dir --wheel-dir /wheels --constraint requirements.lock \
        /wheels/sloctl-*.whl

FROM python:3.11.10-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ORDERS_LOG_FILE=/var/log/orders/orders.log
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app/var /var/log/orders \
    && chown app:app /app/var /var/log/orders
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels /wheels/sloctl-*.whl \
    && rm -rf /wheels
WORKDIR /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["python", "-m", "sample_service"]
CMD ["--host", "0.0.0.0", "--port", "8000"]
