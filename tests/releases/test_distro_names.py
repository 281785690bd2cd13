"""A distro a maintainer names is theirs and staff's to see until staff approve a
claim on it; an account names at most NEW_DISTROS_PER_DAY new distros a day."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from portal.errors import RateLimited
from releases.maintainers.services import maintainership_approve, maintainership_request
from releases.models import AuditEvent, Distro, Maintainership
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def claim_form_choices(user) -> set[str]:
    client = Client()
    client.force_login(user)
    form = client.get(reverse("my-distros")).context["form"]
    return {distro.slug for distro in form.fields["distro"].queryset}


def name_new(client, project, slug, name=""):
    return client.post(
        reverse("my-distros"),
        {"project": project.pk, "new_distro_slug": slug, "new_distro_name": name},
    )


def test_a_named_distro_is_seen_by_its_maintainer_and_staff_only_until_approved(
    release, ubuntu, staff, site_admin
):
    proposer, other = UserFactory(username="proposer"), UserFactory(username="other")
    client = Client()
    client.force_login(proposer)
    answer = name_new(client, release.project, "ubu-evil", 'Ubu <a href="https://x">click</a>')
    assert answer.status_code == 302
    distro = Distro.objects.get(slug="ubu-evil")
    assert not distro.listed and distro.proposed_by == proposer
    assert AuditEvent.objects.filter(verb="distro.created", object_id=str(distro.pk)).exists()

    assert claim_form_choices(other) == {"ubuntu"}
    assert claim_form_choices(proposer) == {"ubuntu", "ubu-evil"}
    # Distro names are the site's: its administrators see every one in the form; the
    # project's team sees the new name on the claim they decide.
    assert claim_form_choices(site_admin) == {"ubuntu", "ubu-evil"}
    assert claim_form_choices(staff) == {"ubuntu"}
    page = Client()
    page.force_login(other)
    assert b"ubu-evil" not in page.get(reverse("my-distros")).content
    # Nor can it be chosen by posting its id.
    refused = page.post(reverse("my-distros"), {"project": release.project.pk, "distro": distro.pk})
    assert refused.status_code == 200 and "distro" in refused.context["form"].errors
    assert not Maintainership.objects.filter(user=other).exists()

    staff_page = Client()
    staff_page.force_login(staff)
    claims = staff_page.get(reverse("claims")).content.decode()
    assert "a new name: approving lists it for everyone" in claims

    claim = Maintainership.objects.get(user=proposer, distro=distro)
    maintainership_approve(claim=claim, actor=staff)
    distro.refresh_from_db()
    assert distro.listed
    assert AuditEvent.objects.filter(verb="distro.approved", object_id=str(distro.pk)).count() == 1
    assert claim_form_choices(other) == {"ubuntu", "ubu-evil"}


def test_a_distro_a_site_administrator_names_is_listed_at_once(release, site_admin):
    maintainership_request(user=site_admin, project=release.project, new_distro_slug="debian")
    distro = Distro.objects.get(slug="debian")
    assert distro.listed and distro.proposed_by is None
    assert "debian" in claim_form_choices(UserFactory(username="someone"))


def test_new_distro_names_are_limited_per_account(release, settings, clock):
    settings.NEW_DISTROS_PER_DAY = 3
    user = UserFactory(username="namer")
    client = Client()
    client.force_login(user)
    for n in range(3):
        assert name_new(client, release.project, f"distro{n}").status_code == 302
    refused = name_new(client, release.project, "distro3")
    assert refused.status_code == 200
    (message,) = refused.context["form"].errors["new_distro_slug"]
    assert "named 3 new distros in the last 24 hours" in message
    assert "NEW_DISTROS_PER_DAY" in message and "24 hours" in message
    assert not Distro.objects.filter(slug="distro3").exists()
    with pytest.raises(RateLimited):
        maintainership_request(user=user, project=release.project, new_distro_slug="distro4")

    # Claiming a listed distro, or one already named, is not naming a new one.
    listed = Distro.objects.create(slug="arch", name="Arch")
    maintainership_request(user=user, project=release.project, distro=listed)
    # Another account has its own allowance.
    other = UserFactory(username="other-namer")
    maintainership_request(user=other, project=release.project, new_distro_slug="distro5")

    clock.advance(days=1, seconds=1)
    maintainership_request(user=user, project=release.project, new_distro_slug="distro3")
    assert Distro.objects.filter(slug="distro3", listed=False).exists()


def test_the_limit_holds_for_a_second_name_an_hour_later(release, settings, clock):
    settings.NEW_DISTROS_PER_DAY = 1
    user = UserFactory(username="namer")
    maintainership_request(user=user, project=release.project, new_distro_slug="one")
    clock.advance(hours=23)
    with pytest.raises(RateLimited) as refused:
        maintainership_request(user=user, project=release.project, new_distro_slug="two")
    assert "again in 1 hour" in refused.value.message
    assert 0 < refused.value.retry_after <= int(timedelta(hours=1).total_seconds()) + 1
