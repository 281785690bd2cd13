"""Scale-out: work routed to one queue per kind; the health endpoint."""

import pytest
from django.conf import settings

from portal.celery import app


def queue_of(task: str) -> str:
    return app.amqp.router.route({}, task)["queue"].name


def test_each_kind_of_work_has_its_queue():
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    assert queue_of("releases.verification.tasks.submission_verify_task") == f"{default}.verify"
    assert queue_of("publishing.tasks.page_regenerate_task") == f"{default}.pages"
    assert queue_of("publishing.tasks.release_assemble_task") == f"{default}.pages"
    assert queue_of("releases.prereleases.tasks.release_deliver_prerelease_task") == (
        f"{default}.mail"
    )
    for outbound in ("package_links_check_task", "package_link_check_task", "webhook_deliver_task"):
        assert queue_of(f"publishing.tasks.{outbound}") == f"{default}.outbound"
    assert queue_of("releases.recovery.tasks.recovery_sweep_task") == default


def test_every_worker_command_leaves_no_queue_unconsumed():
    """The compose file's workers (also run by deploy/native_stack.py) take every queue
    between them, and only the `outbound` worker takes the outbound one."""
    from deploy import native_stack

    compose = native_stack.load_compose({"SECRET_KEY": "x"})
    consumed = {}
    for name, service in compose["services"].items():
        if "command" not in service:
            continue
        command = " ".join(native_stack.service_command(service))
        if " worker" in command:
            queues = command.split(" -Q ", 1)[1].split()[0].split(",")
            consumed[name] = set(queues)
    everything = {"portal", "portal.verify", "portal.pages", "portal.mail", "portal.outbound"}
    assert set().union(*consumed.values()) == everything
    assert [name for name, queues in consumed.items() if "portal.outbound" in queues] == [
        "outbound"
    ]
    assert consumed["outbound"] == {"portal.outbound"}


def test_a_worker_without_q_consumes_every_queue():
    names = {queue.name for queue in app.amqp.queues.values()}
    assert names >= {
        settings.CELERY_TASK_DEFAULT_QUEUE,
        *settings.CELERY_TASK_QUEUES_BY_KIND.values(),
    }


@pytest.mark.django_db
def test_healthz_reports_database_and_storage(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {
        "ok": True,
        "database": "ok",
        "storage:uploads": "ok",
        "storage:public": "ok",
    }


@pytest.mark.django_db
def test_healthz_is_503_when_storage_fails(client, monkeypatch):
    from django.core.files.storage import storages

    def broken(name):
        raise OSError("disk gone")

    monkeypatch.setattr(storages["uploads"], "exists", broken)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["storage:uploads"] == "unreachable: OSError"
