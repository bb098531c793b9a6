"""Celery tasks of tickets: each takes ids (or nothing), calls one function, and is idempotent."""

from __future__ import annotations

from celery import shared_task

from .sla import SWEEP_BATCH, recompute_open_tickets, retire_policy, sweep_sla

# Batches one beat run takes at most; what is left waits for the next run.
MAX_BATCHES = 20


@shared_task(acks_late=True)
def sla_sweep() -> int:
    """Warn, mark breaches and escalate wherever an SLA check is due (beat, every minute).

    Everything due is found from the database, so a run after a restart catches up.
    """
    done = 0
    for _batch in range(MAX_BATCHES):
        result = sweep_sla()
        done += result.tickets
        if result.tickets < SWEEP_BATCH:
            break
    return done


@shared_task(acks_late=True)
def sla_recompute_open() -> int:
    """Match every open ticket to the policies again after one was created or edited."""
    return recompute_open_tickets()


@shared_task(acks_late=True)
def sla_retire_policy(policy_id: int) -> None:
    """Move a deleted policy's tickets to the policies matching them now, then drop it."""
    retire_policy(policy_id=policy_id)
