from django.db import transaction

from .models import WorkerPing


@transaction.atomic
def worker_ping_send() -> WorkerPing:
    """Queue a ping once this transaction commits; a worker stamps the answer."""
    from .tasks import worker_ping

    ping = WorkerPing.objects.create()
    transaction.on_commit(lambda: worker_ping.delay(ping.pk))
    return ping
