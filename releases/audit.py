"""The audit trail: one event per change, written in the change's own transaction."""

from __future__ import annotations

from django.db import models

from .models import AuditEvent


def audit_record(*, actor, verb: str, target: models.Model | None = None, **detail) -> AuditEvent:
    """Write an audit event; call inside the transaction that makes the change."""
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        verb=verb,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        detail=detail,
    )
