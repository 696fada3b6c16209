FROM python:3.11-slim
# openssl: the compose `certs` one-shot writes a private CA and server certificate with it.
RUN apt-get update && apt-get install -y --no-install-recommends openssl && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY devices devices
COPY monitoring monitoring
COPY simulators simulators
COPY evaluation evaluation
COPY monitoring_cli monitoring_cli
COPY config/tls config/tls
RUN uv sync --frozen --no-dev
ENV PATH="/app/.venv/bin:$PATH" RPM_API__HOST=0.0.0.0
USER nobody
EXPOSE 8000
ENTRYPOINT []
CMD ["monitoring", "serve"]
