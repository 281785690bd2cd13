"""convirt.conf checks, one row per case."""

from __future__ import annotations

import pytest
from builders import CONF, E, d, gz, ids, tar_bytes

B = "distros/ubuntu/"


def bundle(*members: E) -> bytes:
    return gz(tar_bytes([d("distros"), d(B.rstrip("/")), *members]))


@pytest.mark.parametrize(
    ("members", "check", "words"),
    [
        pytest.param([], "config-missing", "no convirt.conf for ubuntu", id="missing"),
        pytest.param([E(B + "convirt.conf", b"exec_path=/bin\n")], "config-unparsable",
                     "line 1", id="no-section-header"),
        pytest.param([E(B + "convirt.conf", b"[PATHS]\nexec_path=/bin\n[PATHS]\n")],
                     "config-unparsable", "line 3", id="duplicate-section"),
        pytest.param([E(B + "convirt.conf", b"[PATHS]\n\xff\xfe\n")], "config-unparsable",
                     "not UTF-8", id="not-utf8"),
        pytest.param([E(B + "convirt.conf", b"[PATHS]\nfoo=1\n")], "config-exec-path-missing",
                     "exec_path", id="exec-path-missing"),
        pytest.param([E(B + "convirt.conf", b"[PATHS]\nexec_path=\n")], "config-exec-path-missing",
                     "exec_path", id="exec-path-empty"),
        pytest.param([E(B + "convirt.conf", b"[PATHS]\nexec_path=$PATH\n")],
                     "config-exec-path-incomplete", "lvcreate", id="path-only-default"),
        pytest.param([E(B + "convirt.conf", b"[PATHS]\nexec_path=/sbin:/usr/sbin\n")],
                     "config-exec-path-incomplete", "uname", id="no-bin"),
        pytest.param([E(B + "convirt.conf", b"[PATHS]\nexec_path=$PATH:/sbin\n")],
                     "config-exec-path-incomplete", "xm", id="no-xen-tools"),
        pytest.param([E(B + "convirt.conf", b"[PATHS]\nexec_path=$PATH:/usr/sbin\n")],
                     "config-html-browser-missing", "html_browser", id="no-browser"),
        pytest.param([E(B + "convirt.conf", b"[PATHS]\nexec_path=$PATH:/usr/sbin\n"
                                            b"[CLIENT CONFIGURATION]\nhtml_browser=\n")],
                     "config-html-browser-missing", "html_browser", id="empty-browser"),
    ],
)
def test_config_finding(run, members, check, words):
    report = run(bundle(*members))
    found = [f for f in report.findings if f.check == check]
    assert found and words in found[0].message, report.findings
    assert found[0].hint


@pytest.mark.parametrize(
    "where", ["distros/ubuntu/convirt.conf", "install/client/distros/ubuntu/convirt.conf"],
)
def test_good_config_in_either_location_passes(run, where):
    members = [E(where, CONF)]
    report = run(bundle(*members))
    assert not {c for c in ids(report) if c.startswith("config-")}, report.findings


def test_exec_path_incomplete_names_only_the_unreachable_tools(run):
    report = run(bundle(E(B + "convirt.conf", b"[PATHS]\nexec_path=/usr/bin:/bin:/sbin\n")))
    [f] = [f for f in report.findings if f.check == "config-exec-path-incomplete"]
    assert "lvcreate" not in f.message and "uname" not in f.message
    assert "xm" in f.message and "/usr/sbin" in f.hint
