"""Tasks queued on commit run in a real worker process; nothing runs after a rollback."""

import re

import pytest
from django.db import transaction

from releases.models import WorkerPing
from releases.recovery.services import worker_ping_send
from tests import settings as test_settings
from tests.processes import WorkerProcess, wait_for

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def answered(ping_id):
    return WorkerPing.objects.filter(pk=ping_id, answered_at__isnull=False).first()


def test_task_queued_on_commit_runs_in_worker_and_writes_to_database(worker):
    ping = worker_ping_send()

    done = wait_for(lambda: answered(ping.pk), timeout=30, what="worker answered the ping")

    assert done.worker  # the worker process's host name, written by the worker
    assert done.answered_at >= done.created_at


def _pings_run(log: str) -> int:
    """How many worker pings the worker has run, by its log."""
    return len(re.findall(r"worker_ping_task\[[^\]]+\] succeeded", log))


def test_nothing_runs_after_a_rollback(worker):
    class Abort(Exception):
        pass

    before = worker_ping_send()
    wait_for(lambda: answered(before.pk), timeout=30, what="first ping answered")
    wait_for(lambda: _pings_run(worker.log()), timeout=10, what="the first ping in the log")
    runs_before = _pings_run(worker.log())

    with pytest.raises(Abort), transaction.atomic():
        worker_ping_send()
        raise Abort

    # The worker takes one task at a time, in order: once a later ping is
    # answered, the rolled-back one would have run first had it been queued.
    later = worker_ping_send()
    wait_for(lambda: answered(later.pk), timeout=30, what="later ping answered")
    wait_for(
        lambda: _pings_run(worker.log()) > runs_before, timeout=10, what="the later ping in the log"
    )
    assert _pings_run(worker.log()) == runs_before + 1


@pytest.mark.skipif(not test_settings.USING_REDIS, reason="Redis not reachable")
def test_worker_uses_redis_when_configured(worker):
    assert worker.env["CELERY_BROKER_URL"].startswith("redis://")
    assert "transport:   redis://" in worker.log()


def test_embedded_filesystem_broker_round_trips_a_task(
    process_log_dir, django_db_blocker, tmp_path
):
    """The first-run default: kombu's filesystem transport, a worker, no broker server."""
    from celery import Celery

    broker_env = {"CELERY_BROKER_URL": "filesystem://", "PORTAL_DATA_DIR": str(tmp_path / "data")}
    # The worker's settings put the broker folders under PORTAL_DATA_DIR/broker.
    queue_dir = tmp_path / "data" / "broker" / "queue"
    queue_dir.mkdir(parents=True)
    (tmp_path / "data" / "broker" / "processed").mkdir()
    fs_worker = WorkerProcess(process_log_dir, env=broker_env, name="fs-worker").start()
    try:
        sender = Celery("sender", broker="filesystem://", set_as_current=False)
        sender.conf.broker_transport_options = {
            "data_folder_in": str(queue_dir),
            "data_folder_out": str(queue_dir),
            "processed_folder": str(tmp_path / "data" / "broker" / "processed"),
            "control_folder": str(tmp_path / "data" / "broker" / "control"),
        }
        ping = WorkerPing.objects.create()
        sender.send_task(
            "releases.recovery.tasks.worker_ping_task",
            args=[ping.pk],
            queue=fs_worker.env["CELERY_TASK_DEFAULT_QUEUE"],
        )
        wait_for(lambda: answered(ping.pk), timeout=30, what="filesystem-broker worker answered")
        # The embedded broker: kombu's filesystem transport, writing each message whole.
        assert "portal.filebroker:Transport" in fs_worker.log()
    finally:
        fs_worker.stop()
