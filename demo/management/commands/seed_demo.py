"""Demo data: two upstreams side by side, each with its own team and key, their
maintainers, an open release each.

ConVirt (the engine's shipped policy, three distros) and Tern (its own policy,
demo/policies/tern.toml, stored as version 1: packaging/NAME only,
tern.ini, no deployment layout; two distros, their own maintainers).

Teams: `release-manager` administers the site and owns ConVirt; `tern-release-manager`
owns Tern and runs Tern only. ConVirt is signed by the portal with its own key
(made here, held encrypted); Tern by its release manager offline, with a demo key
whose secret half is left at PORTAL_DATA_DIR/demo-tern-release-manager-key.asc for
`gpg --import`. `fedora-packager` packages Fedora for both projects.

It also leaves a throwaway OpenPGP demo key under PORTAL_DATA_DIR, which the
default settings sign with when no RELEASE_KEY_FILE is given (a project without a
key of its own). With
``--published`` an earlier release (1.9) is published and signed too, so the
public page is complete from the first start.

ConVirt's source repository is a local bare git repository under
PORTAL_DATA_DIR (tags v1.9, v2.0, v2.1): its 2.0 pre-release is proved against
v2.0 before it opens; a draft 2.1 carries a file its tag does not hold, so its
dashboard shows a failed source proof, the file, and the override form.

With ``--with-repositories`` the
distros' repositories are made under PORTAL_DATA_DIR by the distributions' own tools
(demo/repositories.py), followed, and read once: Ubuntu noble ships the published
release (newest), Ubuntu jammy an older one on purpose (legacy), Fedora 42 an older
one (outdated), Arch the published one, and Alpine's index cannot be read (unknown).
"""

import io
from datetime import timedelta

import bundlecheck
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from demo import builders as demo
from demo import patches as demo_patches
from demo import repositories as demo_repositories
from portal import openpgp
from publishing.services import public_page_regenerate, release_assemble
from releases.artifacts import artifact_create
from releases.coordination.lifecycle import release_open, release_publish
from releases.ledger.services import patch_ledger_compute
from releases.models import (
    Artifact,
    Distro,
    DistroRepository,
    Maintainership,
    Project,
    ProjectKey,
    ProjectMember,
    Release,
    Submission,
)
from releases.policies import current_version, seed_version
from releases.repositories.services import repository_refresh
from releases.sourceproof.services import source_proof_compute, source_proof_request
from releases.teams.services import project_key_add_public, project_key_generate

DISTROS = [("fedora", "Fedora"), ("suse", "openSUSE"), ("ubuntu", "Ubuntu")]
STAFF = ("release-manager", "convirt-staff-demo")
TERN_STAFF = ("tern-release-manager", "tern-staff-demo")
TERN_RM_KEY_FILE = "demo-tern-release-manager-key.asc"
# Packages Fedora for ConVirt (its `fedora-packager` login) and for Tern too.
BOTH = "fedora"
VERSION = "2.0"
PUBLISHED_VERSION = "1.9"
# The second upstream: its distros (fedora's packaging is in its pre-release,
# ubuntu is the newcomer's to add) and its maintainers, not ConVirt's.
TERN_DISTROS = [("fedora", "Fedora"), ("ubuntu", "Ubuntu")]
DEMO_KEY_FILE = "demo-release-key.asc"
# ConVirt's demo git repository (bare), under PORTAL_DATA_DIR: tags v1.9, v2.0, v2.1.
DEMO_SOURCE_REPOSITORY = "demo-git/convirt.git"
# The pre-release whose tarball carries a file its tag does not: its proof fails.
BAD_VERSION = "2.1"


class Command(BaseCommand):
    help = (
        "Create the demo: two upstreams (ConVirt and Tern), distros, a staff user, "
        "maintainers, an open release each. Safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="run even with PORTAL_ENV=production"
        )
        parser.add_argument(
            "--published",
            action="store_true",
            help=f"also publish an earlier release ({PUBLISHED_VERSION}), signed with the demo key",
        )
        parser.add_argument(
            "--with-repositories",
            action="store_true",
            help="also make the distros' repositories with their own tools and read them "
            "(needs a published release: --published)",
        )
        parser.add_argument(
            "--with-patches",
            action="store_true",
            help=f"also give {VERSION} a verified upload per distro carrying patches, and compute "
            "the patch ledger (demo/patches.py)",
        )

    def handle(self, *args, force=False, published=False, with_patches=False,
               with_repositories=False, **options):
        if settings.PRODUCTION and not force:
            raise CommandError(
                "seed_demo creates demo logins; it will not run in production without --force."
            )
        self._demo_key()
        logins = self._seed()
        if published:
            self._publish_earlier()
        if with_patches:
            self._patch_ledger()
        if with_repositories:
            self._repositories()
        self.stdout.write(self.style.SUCCESS("Demo data ready. Logins (user / password):"))
        for username, password, role in logins:
            self.stdout.write(f"  {username:<20} {password:<24} {role}")

    def _patch_ledger(self):
        """Each ConVirt distro's upload to the open release, carrying patches (demo/patches.py),
        marked verified, and the ledger computed from them (the worker's service, run here)."""
        release = Release.objects.get(project__slug="convirt", version=VERSION)
        User = get_user_model()
        for slug, make in demo_patches.BUNDLES.items():
            distro = Distro.objects.get(slug=slug)
            if Submission.objects.filter(release=release, distro=distro).exists():
                continue
            artifact = artifact_create(
                kind=Artifact.Kind.SUBMISSION,
                content=io.BytesIO(make()),
                original_name=f"{slug}-patches.tar.gz",
            )
            Submission.objects.create(
                release=release,
                distro=distro,
                submitter=User.objects.get(username=f"{slug}-packager"),
                artifact=artifact,
                state=Submission.State.PASSED,
                progress=100,
                verified_at=timezone.now(),
            )
        ledger = patch_ledger_compute(release_id=release.pk)
        entries = len(ledger.data.get("entries", [])) if ledger else 0
        self.stdout.write(f"Patch ledger of ConVirt {VERSION}: {entries} fixes.")

    def _repositories(self):
        """Each format once, made by the real tools, followed by its distro and read now."""
        project = Project.objects.get(slug="convirt")
        newest = (
            Release.objects.filter(project=project, state=Release.State.RELEASED)
            .exclude(published_at=None).order_by("-published_at").first()
        )
        if newest is None:
            raise CommandError("--with-repositories needs a published release: add --published.")
        if not settings.OUTBOUND_ALLOW_FILE_URLS:
            raise CommandError("The demo's repositories are local files: set "
                               "OUTBOUND_ALLOW_FILE_URLS=1 (never in production).")
        older = "1.8" if newest.version != "1.8" else "1.7"
        root = settings.DATA_DIR / "demo-repositories"
        now = newest.version
        try:
            made = [
                ("ubuntu", "Ubuntu", "noble", "deb-packages", False,
                 demo_repositories.debian_packages(root / "ubuntu", "noble", [("convirt", f"{now}-1")])),
                ("ubuntu", "Ubuntu", "jammy", "deb-sources", True,
                 demo_repositories.debian_sources(root / "ubuntu", "jammy", [("convirt", f"{older}-1")])),
                ("fedora", "Fedora", "42", "rpm-md", False,
                 demo_repositories.rpm_repository(root / "fedora42", [("convirt", older, "2.fc42")])),
                ("arch", "Arch Linux", "extra", "arch-db", False,
                 demo_repositories.arch_repository(root / "arch", "extra", [("convirt", f"{now}-1")])),
                ("alpine", "Alpine Linux", "edge", "apk-index", False,
                 (root / "alpine" / "edge" / "APKINDEX.tar.gz").as_uri()),  # never made: unknown
            ]
        except demo_repositories.ToolMissing as missing:
            # The rest of the demo stands without them; say what to install.
            self.stderr.write(self.style.WARNING(f"No demo repositories: {missing}."))
            return
        for slug, name, branch, fmt, legacy, url in made:
            distro, _ = Distro.objects.get_or_create(slug=slug, defaults={"name": name})
            repository, _ = DistroRepository.objects.update_or_create(
                project=project, distro=distro, branch=branch,
                defaults={"url": url, "format": fmt, "package_names": ["convirt"],
                          "legacy": legacy},
            )
            repository_refresh(repository_id=repository.pk)
            repository.refresh_from_db()
            self.stdout.write(f"{name} {branch}: {repository.version or '-'} "
                              f"({repository.status}) {repository.reason}")
        public_page_regenerate(project=project)

    def _demo_key(self):
        """The throwaway demo release key; never the key of anything real."""
        path = settings.DATA_DIR / DEMO_KEY_FILE
        if not path.exists():
            fingerprint = openpgp.demo_key_create(path)
            self.stdout.write(f"Demo release key {fingerprint} ({openpgp.DEMO_KEY_NAME}): {path}")
        if not settings.RELEASE_KEY_FILE:
            # The settings looked for it before it existed: this run signs with it too.
            settings.RELEASE_KEY_FILE = str(path)

    def _publish_earlier(self):
        """Release 1.9 with Ubuntu's accepted packaging, published and signed now."""
        project = Project.objects.get(slug="convirt")
        release = Release.objects.filter(project=project, version=PUBLISHED_VERSION).first()
        if release is None:
            with transaction.atomic():
                release = self._earlier_release(project)
        if release.state in (Release.State.FROZEN, Release.State.PRERELEASE):
            staff = get_user_model().objects.get(username=STAFF[0])
            release = release_publish(release=release, actor=staff)
        if release.state == Release.State.PUBLISHING:
            # Here and now, not on a worker: the page is complete when this returns.
            self.stdout.write(release_assemble(release_id=release.pk))
            public_page_regenerate(project=project)

    def _earlier_release(self, project):
        User = get_user_model()
        staff = User.objects.get(username=STAFF[0])
        packager = User.objects.get(username="ubuntu-packager")
        created = timezone.now() - timedelta(days=60)
        prerelease = artifact_create(
            kind=Artifact.Kind.PRERELEASE,
            content=io.BytesIO(demo.prerelease_bytes(PUBLISHED_VERSION)),
            original_name=f"convirt-{PUBLISHED_VERSION}.tar.gz",
        )
        release = Release.objects.create(
            project=project,
            version=PUBLISHED_VERSION,
            prerelease=prerelease,
            state=Release.State.FROZEN,
            submission_deadline=created + timedelta(days=14),
            release_date=created + timedelta(days=21),
        )
        bundle = io.BytesIO()
        demo.build_distro_bundle(bundle, demo.ubuntu_bundle_members())
        bundle.seek(0)
        artifact = artifact_create(
            kind=Artifact.Kind.SUBMISSION, content=bundle, original_name="ubuntu-bundle.tar.gz"
        )
        Submission.objects.create(
            release=release,
            distro=Distro.objects.get(slug="ubuntu"),
            submitter=packager,
            artifact=artifact,
            state=Submission.State.ACCEPTED,
            progress=100,
            verified_at=created + timedelta(days=3),
            decided_by=staff,
            decided_at=created + timedelta(days=4),
            decision_comment="Demo: accepted.",
        )
        return release

    @transaction.atomic
    def _seed(self):
        staff, logins = self._staff()
        tern_staff, tern_login = self._user(
            TERN_STAFF, "tern-release-manager@example.org", "Tern Release Manager"
        )
        logins += self._seed_convirt(staff)
        logins += [(*tern_login, "Tern's owner: runs Tern's releases only")]
        logins += self._seed_tern(tern_staff)
        self._keys(staff, tern_staff)
        logins.append((f"{BOTH}-packager", f"convirt-{BOTH}-demo", "also packages Fedora for Tern"))
        return logins

    def _user(self, login, email: str, name: str):
        user, created = get_user_model().objects.get_or_create(
            username=login[0], defaults={"email": email, "first_name": name}
        )
        if created:
            user.set_password(login[1])
            user.save()
        return user, (login[0], login[1])

    def _owner(self, project, user):
        ProjectMember.objects.get_or_create(
            project=project, user=user, defaults={"role": ProjectMember.Role.OWNER}
        )

    def _keys(self, staff, tern_staff):
        """ConVirt: a key the portal makes and holds. Tern: its release manager's demo
        key in KEYS, the secret half left in the data folder to sign offline with."""
        convirt = Project.objects.get(slug="convirt")
        if not ProjectKey.objects.filter(project=convirt).exists():
            key = project_key_generate(project=convirt, actor=staff)
            self.stdout.write(f"ConVirt's release key {key.fingerprint}, held by the portal.")
        tern = Project.objects.get(slug="tern")
        Project.objects.filter(pk=tern.pk).update(signing=Project.Signing.RELEASE_MANAGER)
        if not ProjectKey.objects.filter(project=tern).exists():
            made = openpgp.key_generate("Tern Release Manager (demo)", "tern-rm@invalid")
            path = settings.DATA_DIR / TERN_RM_KEY_FILE
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(made.secret_armor, "ascii")
            path.chmod(0o600)
            project_key_add_public(project=tern, armor=openpgp.public_keys(made), actor=tern_staff)
            self.stdout.write(
                f"Tern's release manager's demo key {made.fingerprint} is in Tern's KEYS; "
                f"sign offline with it after `gpg --import {path}`."
            )

    def _staff(self):
        staff, created = get_user_model().objects.get_or_create(
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
        return staff, [
            (STAFF[0], STAFF[1], "site administrator (admin, project requests); owns ConVirt")
        ]

    def _maintainers(self, project, staff, distros, *, prefix: str):
        """An approved maintainer of `project` per distro: `<prefix><distro>-packager`,
        whose password is `<project>-<distro>-demo`."""
        User = get_user_model()
        logins = []
        for slug, name in distros:
            distro, _ = Distro.objects.get_or_create(slug=slug, defaults={"name": name})
            username, password = f"{prefix}{slug}-packager", f"{project.slug}-{slug}-demo"
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"email": f"{prefix}{slug}@example.org", "first_name": f"{name} Packager"},
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
            logins.append((username, password, f"maintainer for {name} of {project.name}"))
        return logins

    def _open_release(self, project, staff, version, tarball: bytes, *, tag: str = "", open_it=True):
        """The project's open release with its pre-release tarball, unless it is there.
        With `tag`, its tarball is first proved against that tag, here and now."""
        if Release.objects.filter(project=project, version=version).exists():
            return
        now = timezone.now()
        artifact = artifact_create(
            kind=Artifact.Kind.PRERELEASE,
            content=io.BytesIO(tarball),
            original_name=f"{project.slug}-{version}.tar.gz",
        )
        release = Release.objects.create(
            project=project,
            version=version,
            prerelease=artifact,
            submission_deadline=now + timedelta(days=14),
            release_date=now + timedelta(days=21),
        )
        proof = source_proof_request(release=release, tag=tag) if tag else None
        if proof is not None:
            proof = source_proof_compute(proof_id=proof.pk)
            self.stdout.write(f"{release}: source proof against {tag}: {proof.summary}")
        if open_it:
            # Opening indexes the tarball and mails each maintainer a link (worker).
            release_open(release=release, actor=staff)

    def _seed_tern(self, staff):
        text = demo.tern_policy_text()
        try:
            bundlecheck.parse_policy(text, origin=str(demo.TERN_POLICY))
        except bundlecheck.PolicyError as error:
            raise CommandError(str(error)) from None
        project, _ = Project.objects.get_or_create(
            slug="tern",
            defaults={
                "name": "Tern",
                "homepage": "https://tern.example.org",
                # No shipped policy: version 1 is Tern's own text, below.
                "policy": "",
            },
        )
        seed_version(project, text, "Tern's packaging guide (the demo's second upstream).")
        self._owner(project, staff)
        logins = self._maintainers(project, staff, TERN_DISTROS, prefix="tern-")
        # One maintainer packages both upstreams: ConVirt's Fedora packager, for Tern too.
        Maintainership.objects.get_or_create(
            user=get_user_model().objects.get(username=f"{BOTH}-packager"),
            project=project,
            distro=Distro.objects.get(slug=BOTH),
            state=Maintainership.State.APPROVED,
            defaults={"decided_by": staff, "decided_at": timezone.now()},
        )
        self._open_release(
            project, staff, demo.TERN_VERSION, demo.tern_prerelease_bytes(demo.TERN_VERSION)
        )
        return logins

    def _seed_convirt(self, staff):
        project, _ = Project.objects.get_or_create(
            slug="convirt",
            defaults={
                "name": "ConVirt",
                "homepage": "http://www.convirture.com",
                "policy": "convirt",
            },
        )
        current_version(project)  # version 1, from the policy the engine ships
        self._owner(project, staff)
        logins = self._maintainers(project, staff, DISTROS, prefix="")
        proved = self._source_repository(project)
        self._open_release(project, staff, VERSION, demo.prerelease_bytes(VERSION),
                           tag=f"v{VERSION}" if proved else "")
        if proved:
            # A newcomer sees a proof fail, and why: a file the tag does not hold.
            self._open_release(project, staff, BAD_VERSION, demo.injected_prerelease_bytes(BAD_VERSION),
                               tag=f"v{BAD_VERSION}", open_it=False)
        return logins

    def _source_repository(self, project) -> bool:
        """ConVirt's demo git repository with a tag per version, named as its source
        repository; only where local repositories are allowed (never in production)."""
        if not settings.SOURCE_REPOSITORY_ALLOW_LOCAL:
            return False
        path = demo.source_repository_create(settings.DATA_DIR / DEMO_SOURCE_REPOSITORY)
        if not project.source_repository:
            project.source_repository = str(path)
            project.save(update_fields=["source_repository"])
        return project.source_repository == str(path)
