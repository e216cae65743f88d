# The sloctl server (server/), as docker-compose.yml runs it: `sloctl serve`.
# Dependencies are the versions requirements.lock pins (what `make audit` checks).
# Build from the repository root: docker build -f deploy/docker/server.Dockerfile .
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
    SLOCTL_SERVER_SPECS_DIR=/app/slo_specs
RUN groupadd --system --gid 10001 sloctl \
    && useradd --system --uid 10001 --gid sloctl --home-dir /app --shell /usr/sbin/nologin sloctl \
    && mkdir -p /app/var \
    && chown sloctl:sloctl /app/var
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels /wheels/sloctl-*.whl \
    && rm -rf /wheels
COPY slo_specs /app/slo_specs
WORKDIR /app
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["sloctl", "serve"]
CMD ["--host", "0.0.0.0", "--port", "8080"]
