"""Demo data: ConVirt, three distros, a staff user, one maintainer each, an open release."""

import io
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from releases import demo
from releases.artifacts import artifact_create
from releases.coordination.lifecycle import release_open
from releases.models import Artifact, Distro, Maintainership, Project, Release

DISTROS = [("fedora", "Fedora"), ("suse", "openSUSE"), ("ubuntu", "Ubuntu")]
STAFF = ("release-manager", "convirt-staff-demo")
VERSION = "2.0"


class Command(BaseCommand):
    help = "Create the ConVirt demo: distros, a staff user, maintainers, an open release. Safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="run even with PORTAL_ENV=production"
        )

    def handle(self, *args, force=False, **options):
        if settings.PRODUCTION and not force:
            raise CommandError(
                "seed_demo creates demo logins; it will not run in production without --force."
            )
        logins = self._seed()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Logins (user / password):"))
        for username, password, role in logins:
            self.stdout.write(f"  {username:<20} {password:<24} {role}")

    @transaction.atomic
    def _seed(self):
        User = get_user_model()
        project, _ = Project.objects.get_or_create(
            slug="convirt",
            defaults={
                "name": "ConVirt",
                "homepage": "http://www.convirture.com",
                "policy": "convirt",
            },
        )
        logins = []
        staff, created = User.objects.get_or_create(
            username=STAFF[0],
            defaults={
                "email": "release-manager@example.org",
                "is_staff": True,
                "is_superuser": True,
                "first_name": "Release Manager",
            },
        )
        if created:
            staff.set_password(STAFF[1])
            staff.save()
        logins.append((STAFF[0], STAFF[1], "staff (dashboard and admin)"))

        for slug, name in DISTROS:
            distro, _ = Distro.objects.get_or_create(slug=slug, defaults={"name": name})
            username, password = f"{slug}-packager", f"convirt-{slug}-demo"
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"email": f"{slug}@example.org", "first_name": f"{name} Packager"},
            )
            if created:
                user.set_password(password)
                user.save()
            Maintainership.objects.get_or_create(
                user=user,
                project=project,
                distro=distro,
                state=Maintainership.State.APPROVED,
                defaults={"decided_by": staff, "decided_at": timezone.now()},
            )
            logins.append((username, password, f"maintainer for {name}"))

        release = Release.objects.filter(project=project, version=VERSION).first()
        if release is None:
            now = timezone.now()
            artifact = artifact_create(
                kind=Artifact.Kind.PRERELEASE,
                content=io.BytesIO(demo.prerelease_bytes(VERSION)),
                original_name=f"convirt-{VERSION}.tar.gz",
            )
            release = Release.objects.create(
                project=project,
                version=VERSION,
                prerelease=artifact,
                submission_deadline=now + timedelta(days=14),
                release_date=now + timedelta(days=21),
            )
            # Opening indexes the tarball and mails each maintainer a link (worker).
            release_open(release=release, actor=staff)
        return logins
