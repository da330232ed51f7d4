# The portal's production image: the same code for the web, worker and beat containers.
# It holds no secrets: SECRET_KEY, PERSONAL_DATA_KEYS and PERSONAL_DATA_LOOKUP_KEY come from the
# environment at run time (docker-compose.yml reads them from .env), and without them the
# portal refuses to start.
FROM python:3.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TZ=Asia/Shanghai
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk fonts-babelstone-han libharfbuzz-subset0 \
      libpango-1.0-0 libpangoft2-1.0-0 fontconfig \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml ./
RUN python - <<'PY' > /tmp/requirements.txt && pip install --no-cache-dir -r /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
COPY . .
RUN useradd --system --home /app portal && mkdir -p /data && chown portal /data
USER portal
ENV DATA_DIR=/data
EXPOSE 8000
CMD ["gunicorn", "mutualaid.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
