"""Celery tasks of the publishing side: thin, they take primary keys and call a service.

Bound to the portal's app rather than `shared_task`: a shared task follows
whichever Celery app was made last in the process, and a second app (a test's
sender, a script's) would silently take its messages elsewhere.
"""

from __future__ import annotations

from portal.celery import PortalTask, app
from releases.models import PackageLink, Project


@app.task
def page_regenerate_task(project_id: int) -> None:
    from .services import public_page_regenerate

    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return
    public_page_regenerate(project=project)


class AssembleTask(PortalTask):
    """An assembly that fails for good puts its release back to frozen."""

    abstract = True

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        from .services import release_assemble_give_up

        release_id = args[0] if args else kwargs.get("release_id")
        release_assemble_give_up(release_id=release_id, error=f"{type(exc).__name__}: {exc}")


@app.task(bind=True, base=AssembleTask)
def release_assemble_task(self, release_id: int) -> str:
    from releases.coordination.lifecycle import ClaimedElsewhere

    from .services import release_assemble

    try:
        return release_assemble(release_id=release_id)
    except ClaimedElsewhere as busy:
        # Another run holds the claim: come back when its lease is over. If it
        # finished by then, this run finds nothing to do.
        raise self.retry(countdown=busy.retry_in, max_retries=None) from busy


@app.task
def package_links_check_task() -> str:
    from .links import package_links_check_all

    return package_links_check_all()


@app.task
def package_link_check_task(link_id: int) -> bool:
    """Check one package link now: right after it is added, edited, or asked for."""
    from .links import package_link_check

    link = (
        PackageLink.objects.select_related("release__project", "distro").filter(pk=link_id).first()
    )
    if link is None or not link.url:
        return False
    return package_link_check(link=link)


@app.task(bind=True)
def webhook_deliver_task(self, delivery_id: int) -> str:
    """One attempt at an event; a failure comes back after its backoff, until given up."""
    from .webhooks import webhook_deliver

    outcome = webhook_deliver(delivery_id=delivery_id)
    if isinstance(outcome, float):
        raise self.retry(countdown=outcome, max_retries=None)
    return outcome
