"""Concurrent uploads: the distro's quota holds exactly (PostgreSQL, each upload
on its own connection), and on the embedded SQLite default concurrent writes
wait for each other instead of failing with "database is locked"."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection

from portal.errors import QuotaExceeded
from releases.models import Artifact, Submission
from releases.submissions.services import distro_stored_bytes, submission_create
from tests.helpers import Upload
from tests.settings import USING_POSTGRES

REPO = Path(__file__).resolve().parent.parent.parent
UPLOADS, SIZE, QUOTA = 12, 4096, 20_000
POLICY_SAVES = 10


def concurrently(count: int, work) -> list:
    """Run work(n) in `count` threads released at once; each thread has its own
    database connection. Returns each one's result or the exception it raised."""
    start = threading.Barrier(count)
    results: list = [None] * count

    def run(n: int) -> None:
        try:
            start.wait(timeout=30)
            results[n] = work(n)
        except Exception as error:  # kept, to be asserted on
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.skipif(not USING_POSTGRES, reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_never_store_past_the_quota(release, ubuntu, maintainer, settings):
    settings.DISTRO_QUOTA_BYTES = QUOTA

    def upload(n: int):
        data = bytes([n]) * SIZE  # twelve different files, 4 KB each
        return submission_create(
            release=release,
            distro=ubuntu,
            submitter=maintainer,
            upload=Upload(data, f"ubuntu-{n}.tar.gz"),
        )[0]

    results = concurrently(UPLOADS, upload)
    accepted = [r for r in results if isinstance(r, Submission)]
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert len(accepted) + len(refused) == UPLOADS, [r for r in results if isinstance(r, Exception)]
    stored = distro_stored_bytes(project=release.project, distro=ubuntu)
    assert stored <= QUOTA, f"{stored:,} B stored past a {QUOTA:,} B quota"
    assert len(accepted) == QUOTA // SIZE  # as many as fit, not fewer
    # A refused upload's bytes are not kept either.
    assert Artifact.objects.filter(kind=Artifact.Kind.SUBMISSION).count() == len(accepted)


SQLITE_WRITERS = r"""
import sys, threading
import django
django.setup()
from django.core.management import call_command
from django.db import connection, transaction
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from releases.models import Distro, Project, Release, Submission, Maintainership
from releases.submissions.services import submission_create
from tests.helpers import Upload, prerelease_bytes
from releases.artifacts import artifact_create
from releases.models import Artifact
import io

user = get_user_model().objects.create_user("ubuntu-dev", "u@example.org", "pw")
project = Project.objects.create(slug="convirt", name="ConVirt")
distro = Distro.objects.create(slug="ubuntu", name="Ubuntu")
Maintainership.objects.create(user=user, project=project, distro=distro, state="approved")
pre = artifact_create(kind=Artifact.Kind.PRERELEASE, content=io.BytesIO(b"x"), original_name="p.tar.gz")
release = Release.objects.create(project=project, version="2.0", state="prerelease", prerelease=pre)
count = int(sys.argv[1])
POLICY_SAVES = int(sys.argv[2])
start = threading.Barrier(count)
errors = []

def upload(n):
    try:
        start.wait(timeout=30)
        submission_create(release=release, distro=distro, submitter=user,
                          upload=Upload(bytes([n]) * 4096, f"u{n}.tar.gz"))
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
    finally:
        connection.close()

threads = [threading.Thread(target=upload, args=(n,)) for n in range(count)]
[t.start() for t in threads]
[t.join() for t in threads]

# Staff saving the policy at once from the same version: one is saved, the
# others are told someone saved first; none meets a locked database.
from releases.policies import current_version
from releases.verification.services import PolicyChanged, policy_version_save
base = current_version(project)
saves = threading.Barrier(POLICY_SAVES)
changed = []

def save(n):
    try:
        saves.wait(timeout=30)
        policy_version_save(project=project, text=base.text + f"\n# edit {n}\n", note="",
                            author=user, base_number=base.number, reverify=False)
    except PolicyChanged:
        changed.append(n)
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
    finally:
        connection.close()

threads = [threading.Thread(target=save, args=(n,)) for n in range(POLICY_SAVES)]
[t.start() for t in threads]
[t.join() for t in threads]
print("stored", Submission.objects.count())
print("policy versions", project.policy_versions.count(), "refused as changed", len(changed))
print("errors", len(errors))
print(*sorted(set(errors)), sep="\n")
"""


def test_concurrent_writes_on_sqlite_wait_instead_of_failing(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",  # the embedded defaults, as a first run has
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
        "PORTAL_DATA_DIR": str(tmp_path / "data"),
        "CELERY_BROKER_URL": "filesystem://",
        "CACHE_URL": "locmem://",
        "EMAIL_URL": "locmem://",
    }
    env.pop("PORTAL_ENV", None)
    result = subprocess.run(
        [sys.executable, "-c", SQLITE_WRITERS, str(UPLOADS), str(POLICY_SAVES)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "database is locked" not in result.stdout + result.stderr
    assert f"stored {UPLOADS}\n" in result.stdout, result.stdout[-3000:]
    assert f"policy versions 2 refused as changed {POLICY_SAVES - 1}\n" in result.stdout
    assert "errors 0\n" in result.stdout, result.stdout[-3000:]
