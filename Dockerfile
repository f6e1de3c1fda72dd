FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    STATIC_ROOT=/app/staticfiles DATA_DIR=/app/var
WORKDIR /app

RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
    libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 1000 deploychecks

COPY pyproject.toml requirements.lock README.md ./
COPY deploychecks ./deploychecks
RUN pip install -c requirements.lock .
COPY manage.py ./
COPY templates ./templates
COPY static ./static
# collectstatic needs keys to import settings; they are not used at run time.
# /witness: the audit witness volume starts out owned by the app's user.
RUN SECRET_KEY=build-only-secret-key-0123456789abcdefghij \
    AUDIT_HMAC_KEY=build-only-audit-key-0123456789abcdefghij DATABASE_URL=postgres://x@localhost/x \
    python manage.py collectstatic --no-input \
 && mkdir -p /app/var /witness && chown deploychecks /app/var /witness

USER deploychecks
EXPOSE 8000
# deploychecks.serve: uvicorn, trusting X-Forwarded-For only from TRUSTED_PROXIES (none by default).
CMD ["python", "-m", "deploychecks.serve", "--host", "0.0.0.0", "--port", "8000"]
