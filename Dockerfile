# The portal's image: web, worker and beat run from it with different commands.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY packaging/ packaging/
COPY pyproject.toml README.md ./
COPY portal/ portal/
COPY releases/ releases/
RUN pip install --no-cache-dir ./packaging .
COPY . .
RUN useradd --system --home /app portal && chown -R portal /app
USER portal
EXPOSE 8000
CMD ["gunicorn", "portal.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
