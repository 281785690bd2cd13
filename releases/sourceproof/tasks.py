"""The source proof task: takes a proof's primary key, calls the service.

A proof is claimed once (a conditional update), so a task delivered twice does
no second fetch."""

from __future__ import annotations

from portal.celery import app


@app.task(bind=True, soft_time_limit=900)
def source_proof_compute_task(self, proof_id: int) -> str:
    from . import services

    proof = services.source_proof_compute(proof_id=proof_id)
    return proof.state if proof is not None else "not claimed"
