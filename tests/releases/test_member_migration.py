"""A database from before project roles (releases 0020): every active staff account
becomes an owner of every project, and nobody else gains a role."""

import pytest

from tests.helpers import migrate_to

BEFORE = [("releases", "0020_webhook_disable_rotate")]


@pytest.mark.django_db(transaction=True)
def test_todays_staff_become_owners_of_todays_projects():
    old = migrate_to(BEFORE)
    User = old.get_model("auth", "User")
    Project = old.get_model("releases", "Project")
    boss = User.objects.create(username="old-boss", is_staff=True)
    User.objects.create(username="gone-boss", is_staff=True, is_active=False)
    User.objects.create(username="packager")
    for slug in ("convirt", "tern"):
        Project.objects.create(slug=slug, name=slug.capitalize())

    new = migrate_to()
    members = new.get_model("releases", "ProjectMember").objects.order_by("project__slug")
    assert [(m.project.slug, m.user.username, m.role) for m in members] == [
        ("convirt", "old-boss", "owner"),
        ("tern", "old-boss", "owner"),
    ]
    assert boss.pk == members[0].user_id
