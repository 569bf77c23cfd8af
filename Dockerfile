# syntax=docker/dockerfile:1
# One image for every Kehu CRM process: the five domain services, the five
# gateways and the one-shot jobs (crm bus setup, crm migrate). The command
# picks the role, e.g.
#   nameko run --config config.yml services.customers.service:CustomersService
#   nameko run --config config.yml services.customers.gateway:CustomersGateway
#   crm bus setup && crm migrate
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------- build stage
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
# Dependencies first (pinned in pyproject.toml) so source edits reuse this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt
COPY services ./services
COPY config.yml ./
# Editable install at the runtime path: services.common.config.ROOT is /app,
# so config.yml, migrations and the var dir resolve the same as in a checkout.
RUN pip install --no-deps -e . \
 && python -m compileall -q /app/services

# -------------------------------------------------------------- runtime stage
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="kehu-crm" \
      org.opencontainers.image.description="Kehu CRM services and gateways (nameko)" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONWARNINGS=ignore \
    CRM_VAR_DIR=/app/var \
    CRM_CONFIG=/app/config.yml
RUN groupadd --system --gid 10001 crm \
 && useradd --system --uid 10001 --gid crm --home-dir /app --shell /usr/sbin/nologin crm
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=root:root /app /app
COPY --chown=root:root deploy/docker/healthcheck.py /usr/local/bin/crm-healthcheck
RUN chmod 0755 /usr/local/bin/crm-healthcheck \
 && mkdir -p /app/var && chown crm:crm /app/var
USER 10001:10001
# Gateways: GET /health on WEB_SERVER_ADDRESS; domain services: GET /metrics on
# METRICS_PORT; one-shot jobs (neither set) report healthy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "/usr/local/bin/crm-healthcheck"]
EXPOSE 8001 8002 8003 8004 8005 9101 9102 9103 9104 9105
ENTRYPOINT []
CMD ["crm", "--help"]
