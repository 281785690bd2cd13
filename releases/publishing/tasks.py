"""Celery tasks of the publishing side."""
