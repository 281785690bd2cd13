"""Schemathesis against the live API: a real HTTP server on 127.0.0.1 (pytest-django's
`live_server`), every check, with a maintainer's token and with a staff token,
ends with no failure.

The two runs go at once, one process each, with the command below; `$TOKEN` is
the token the test issues and `tests/api/schemathesis.toml` names the rows it
makes (project `convirt`, release `2.0`, distro `ubuntu`, submissions 970001
and 970002), so that most requests reach past a 404:

    st --config-file tests/api/schemathesis.toml run \\
        http://127.0.0.1:$PORT/api/v1/openapi.json \\
        --header "Authorization: Token $TOKEN" --checks all \\
        --max-examples 8 --seed 1 --workers 1 --suppress-health-check all

All four phases run (examples, coverage, fuzzing, stateful). Where the server
judges what no schema can state (a policy's TOML, a tarball being a tar archive,
the sha256 given beside an upload), the operation declares its 400 and the
configuration names the 400 among what a schema-valid request may get, for
those four operations only. ST_EXAMPLES sets --max-examples for a longer run.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from accounts.models import ApiToken
from releases.models import Submission
from tests.factories import ArtifactFactory, SubmissionFactory

pytestmark = pytest.mark.django_db(transaction=True)

HERE = Path(__file__).resolve().parent
ST = str(Path(sys.executable).with_name("st"))
EXAMPLES = os.environ.get("ST_EXAMPLES", "8")


def schemathesis(base_url: str, token: str, cwd: Path) -> subprocess.Popen:
    command = [
        ST,
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "run",
        f"{base_url}/api/v1/openapi.json",
        "--header",
        f"Authorization: Token {token}",
        "--checks",
        "all",
        "--max-examples",
        EXAMPLES,
        "--seed",
        "1",
        "--workers",
        "1",
        "--suppress-health-check",
        "all",
    ]
    cwd.mkdir()
    return subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.fixture
def fuzzed_rows(release, ubuntu, maintainer, settings):
    """The rows the configuration names; limits high enough not to answer 429 all along."""
    for pk, state in [(970001, Submission.State.PASSED), (970002, Submission.State.SUPERSEDED)]:
        SubmissionFactory(
            pk=pk,
            release=release,
            distro=ubuntu,
            submitter=maintainer,
            artifact=ArtifactFactory(),
            state=state,
        )
    settings.UPLOADS_PER_HOUR = 10**6
    settings.REPORT_READS_PER_MINUTE = 10**6
    settings.UPLOAD_MAX_BYTES = 1024 * 1024


def test_the_live_api_keeps_to_its_description(
    live_server, fuzzed_rows, maintainer, staff, tmp_path
):
    # The server's address as 127.0.0.1, the loopback address it listens on.
    base_url = live_server.url.replace("localhost", "127.0.0.1")
    runs = {
        who: schemathesis(base_url, ApiToken.issue(user=user, name="fuzz")[1], tmp_path / who)
        for who, user in [("maintainer", maintainer), ("staff", staff)]
    }
    started = time.monotonic()
    outputs = {who: run.communicate(timeout=300)[0] for who, run in runs.items()}
    took = time.monotonic() - started
    for who, run in runs.items():
        assert run.returncode == 0, f"with the {who}'s token:\n{outputs[who][-12000:]}"
        assert " passed" in outputs[who]
    print(f"schemathesis, both tokens at once: {took:.0f} s")
