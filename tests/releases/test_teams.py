"""Onboarding an upstream and its team: ask, approve, invite, change roles, remove;
never the last owner; every change one event."""

import pytest
from django.urls import reverse

from releases import permissions
from releases.models import AuditEvent, PolicyVersion, Project, ProjectMember, ProjectRequest
from tests.factories import ProjectFactory, ProjectMemberFactory, UserFactory

pytestmark = pytest.mark.django_db


def ask(client, **fields):
    data = {
        "name": "Tern",
        "slug": "tern",
        "homepage": "https://tern.example.org/",
        "repository": "https://git.example.org/tern.git",
        "policy_text": "",
    }
    return client.post(reverse("project-ask"), {**data, **fields})


def verbs():
    return list(AuditEvent.objects.order_by("id").values_list("verb", flat=True))


def test_an_account_asks_a_site_administrator_approves_and_the_asker_owns_it(
    client, site_admin, mailoutbox, django_capture_on_commit_callbacks
):
    founder = UserFactory(username="founder")
    client.force_login(founder)
    assert client.get(reverse("project-ask")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert ask(client).status_code == 302
    (mailed,) = mailoutbox  # the site administrators decide
    assert mailed.to == [site_admin.email] and "asks for a new project: Tern" in mailed.subject
    asked = ProjectRequest.objects.get()
    assert (asked.state, asked.requested_by) == ("requested", founder)
    assert not Project.objects.filter(slug="tern").exists()
    # Nobody but a site administrator decides.
    approve = reverse("staff-project-request-approve", args=[asked.pk])
    assert client.post(approve).status_code == 404

    client.force_login(site_admin)
    assert "Tern" in client.get(reverse("staff-project-requests")).content.decode()
    assert client.post(approve).status_code == 302
    project = Project.objects.get(slug="tern")
    assert project.repository == "https://git.example.org/tern.git"
    assert permissions.project_role(founder, project) == "owner"
    assert permissions.project_role(site_admin, project) is None  # approving is not joining
    assert PolicyVersion.objects.get(project=project).author == founder
    assert verbs() == ["project.requested", "project.created"]
    again = client.post(approve, follow=True).content.decode()
    assert "This request was approved already." in again


def test_a_declined_request_says_why_and_a_taken_short_name_is_refused(client, site_admin):
    ProjectFactory(slug="convirt")
    client.force_login(UserFactory(username="founder"))
    taken = ask(client, slug="convirt")
    assert taken.status_code == 400
    assert "A project with the short name convirt exists already." in taken.content.decode()
    bad_policy = ask(client, policy_text="schema = 1\nname =")
    assert bad_policy.status_code == 400 and "Line 2" in bad_policy.content.decode()
    assert ask(client).status_code == 302
    twice = ask(client)
    assert "waiting for approval already" in twice.content.decode()

    asked = ProjectRequest.objects.get()
    client.force_login(site_admin)
    client.post(
        reverse("staff-project-request-decline", args=[asked.pk]), {"reason": "Not packaged here."}
    )
    asked.refresh_from_db()
    assert (asked.state, asked.reason) == ("declined", "Not packaged here.")
    client.force_login(asked.requested_by)
    assert "declined: Not packaged here." in client.get(reverse("project-ask")).content.decode()


@pytest.fixture
def team(db):
    project = ProjectFactory(slug="tern", name="Tern")
    owner = ProjectMemberFactory(project=project, user=UserFactory(username="tern-owner")).user
    return project, owner


def test_owners_invite_by_username_or_address_change_roles_and_remove(client, team):
    project, owner = team
    UserFactory(username="rm", email="rm@example.org")
    UserFactory(username="reader")
    client.force_login(owner)
    url = reverse("staff-team", args=[project.slug])
    assert client.post(url, {"who": "RM@example.org", "role": "release_manager"}).status_code == 302
    assert client.post(url, {"who": "reader", "role": "reviewer"}).status_code == 302
    unknown = client.post(url, {"who": "nobody@example.org", "role": "reviewer"})
    assert unknown.status_code == 400
    assert (
        "No account on this portal has the username or address nobody@example.org"
        in unknown.content.decode()
    )
    twice = client.post(url, {"who": "reader", "role": "owner"})
    assert "reader is on the team already, as reviewer" in twice.content.decode()

    reader = ProjectMember.objects.get(user__username="reader")
    client.post(reverse("staff-member-role", args=[reader.pk]), {"role": "release_manager"})
    reader.refresh_from_db()
    assert reader.role == "release_manager"
    client.post(reverse("staff-member-remove", args=[reader.pk]))
    assert not ProjectMember.objects.filter(pk=reader.pk).exists()
    assert verbs() == ["member.added", "member.added", "member.role_changed", "member.removed"]
    removed = AuditEvent.objects.get(verb="member.removed")
    assert removed.project == project and removed.detail["user"] == "reader"

    # A reviewer sees the team and changes nothing.
    client.force_login(ProjectMemberFactory(project=project, role="reviewer").user)
    assert client.get(url).status_code == 200
    assert client.post(url, {"who": "rm", "role": "owner"}).status_code == 403


def test_never_the_last_owner(client, team):
    project, owner = team
    me = ProjectMember.objects.get(user=owner)
    client.force_login(owner)
    demoted = client.post(
        reverse("staff-member-role", args=[me.pk]), {"role": "reviewer"}, follow=True
    )
    assert (
        "Cannot make tern-owner a reviewer: you are the last owner of Tern. "
        "Make another member an owner first." in demoted.content.decode()
    )
    removed = client.post(reverse("staff-member-remove", args=[me.pk]), follow=True)
    assert "you are the last owner of Tern" in removed.content.decode()
    me.refresh_from_db()
    assert me.role == "owner"
    assert verbs() == []
    # With a second owner, the first may step down.
    ProjectMemberFactory(project=project, user=UserFactory(username="second"))
    client.post(reverse("staff-member-role", args=[me.pk]), {"role": "reviewer"})
    me.refresh_from_db()
    assert me.role == "reviewer"
