"""Profile, ApiToken and WorkerPing changed app without a table move: a database
at the head before the split keeps its rows, reachable through the new apps."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("portal", "0002_profile_confirmed_at"),
    ("releases", "0003_page_stale_since"),
    ("accounts", None),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


@pytest.mark.django_db(transaction=True)
def test_rows_made_before_the_split_are_kept_and_reachable_after_it():
    old = _migrate(BEFORE)
    User = old.get_model("auth", "User")
    user = User.objects.create(username="before-split", email="b@example.org")
    old.get_model("portal", "Profile").objects.create(user=user, display_name="Before Split")
    old.get_model("portal", "ApiToken").objects.create(
        user=user, name="ci", key_hash="a" * 64, key_start="rp_aaaa"
    )
    old.get_model("portal", "WorkerPing").objects.create(worker="old-host")

    executor = MigrationExecutor(connection)
    new = _migrate(executor.loader.graph.leaf_nodes())

    assert new.get_model("accounts", "Profile").objects.get(user_id=user.pk).display_name == (
        "Before Split"
    )
    assert new.get_model("accounts", "ApiToken").objects.get(user_id=user.pk).name == "ci"
    assert new.get_model("releases", "WorkerPing").objects.filter(worker="old-host").exists()
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert {"portal_profile", "portal_apitoken", "portal_workerping"} <= set(tables)
