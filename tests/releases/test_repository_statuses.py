"""The status rules as a table: what a branch shows, against the published releases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from releases.repositories.statuses import Published, is_prerelease, status_judge

RELEASES = [Published(1, "1.9", datetime(2026, 1, 1, tzinfo=UTC)),
            Published(2, "2.0", datetime(2026, 6, 1, tzinfo=UTC))]


@pytest.mark.parametrize(("family", "shown", "legacy", "status", "version", "release"), [
    ("deb", ["2.0-1"], False, "newest", "2.0-1", "2.0"),
    ("deb", ["1.9-3", "2.0-1"], False, "newest", "2.0-1", "2.0"),  # the highest counts
    ("deb", ["1:1.9-3", "2.0-1"], False, "outdated", "1:1.9-3", "1.9"),  # epoch wins
    ("deb", ["2.0+really1.9-1"], False, "outdated", "2.0+really1.9-1", "1.9"),
    ("deb", ["2.0+dfsg-2"], False, "newest", "2.0+dfsg-2", "2.0"),
    ("deb", ["1.9-3"], True, "legacy", "1.9-3", "1.9"),
    ("deb", ["2.0~rc1-1"], True, "outdated", "2.0~rc1-1", None),  # a pre-release is not kept
    ("deb", ["2.1~rc1-1"], False, "devel", "2.1~rc1-1", None),
    ("deb", ["2.0+git20260701-1"], False, "newest", "2.0+git20260701-1", None),
    ("rpm", ["2.0-2.fc42"], False, "newest", "2.0-2.fc42", "2.0"),
    ("rpm", ["2.1~beta1-0.1.fc43"], False, "devel", "2.1~beta1-0.1.fc43", None),
    ("arch", ["1.9-3"], False, "outdated", "1.9-3", "1.9"),
    ("arch", ["2.1rc1-1"], False, "devel", "2.1rc1-1", None),
    ("apk", ["2.0-r1"], False, "newest", "2.0-r1", "2.0"),
    ("apk", ["2.1_rc1-r0"], False, "devel", "2.1_rc1-r0", None),
    ("apk", ["2.0-beta"], False, "unknown", "2.0-beta", None),
    ("deb", [], False, "missing", "", None),
])
def test_status_table(family, shown, legacy, status, version, release):
    judged = status_judge(family=family, found={"tern": shown}, names=["tern"],
                          releases=RELEASES, legacy=legacy)
    assert (judged.status, judged.version) == (status, version), judged.reason
    assert (judged.release.version if judged.release else None) == release
    if status != "newest" or release is None:
        assert judged.reason


def test_nothing_published_is_unknown():
    judged = status_judge(family="deb", found={"tern": ["1.0-1"]}, names=["tern"], releases=[],
                          legacy=False)
    assert judged.status == "unknown"
    assert "no published release" in judged.reason


@pytest.mark.parametrize(("version", "pre"), [
    ("2.1~rc1", True), ("2.1_rc1", True), ("2.1rc1", True), ("2.1-beta2", True),
    ("2.1.dev3", True), ("2.1", False), ("1.0.2a", False), ("2.0+git20260701", False),
    ("2.0+dfsg", False), ("5.5p1", False),
])
def test_prerelease_markers(version, pre):
    assert is_prerelease(version) == pre
