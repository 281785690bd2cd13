"""guide_data: the guide the portal's page and `bundlecheck policy guide` show, from the policy."""

from __future__ import annotations

import json

from test_policy import MINIMAL

import bundlecheck


def test_the_guide_holds_the_policy_ready_to_show(policy):
    guide = bundlecheck.guide_data(policy)
    json.dumps(guide)  # plain values: a page or an API can hand it on as is
    assert guide["roots"] == ["distros/$DISTRO/", "install/client/distros/$DISTRO/"]
    assert guide["config"]["file"] == "convirt.conf"
    assert "install/client/distros/$DISTRO/convirt.conf" in guide["config"]["locations"]
    assert [t["tool"] for t in guide["config"]["exec_path"]["tools"]] == sorted(
        policy.config.exec_path.tools)
    assert guide["config"]["required"] == [
        {"section": "CLIENT CONFIGURATION", "key": "html_browser", "check": "config-html-browser-missing"}]
    assert {"source": "install/", "target": "/usr/share/convirt/install/", "mode": "0644", "required": False,
            "instead_of": "/var/cache/convirt/install/"} in guide["deployment"]["tree"]
    assert guide["deployment"]["files"][0]["source"] == "install/client/distros/$DISTRO/convirt.conf"
    assert {"path": "/usr/share/convirt/install/client/ConVirt", "mode": "0755", "required": True} in (
        guide["deployment"]["critical"])
    assert guide["patched_prereq"]["prereq"] == "python-paramiko"
    assert {c["id"] for c in guide["checks"]} == set(bundlecheck.CHECKS) | {
        "config-html-browser-missing", "paramiko-patch-missing"}  # the engine's, and the policy's own
    assert [f["prefix"] for f in guide["families"]] == ["lintian:", "rpmlint:"]
    assert guide["example_root"] == "convirt-1.0"


def test_what_a_policy_lacks_is_empty_and_severities_are_the_policys():
    guide = bundlecheck.guide_data(bundlecheck.parse_policy(MINIMAL))
    assert guide["deployment"] is None and guide["patched_prereq"] is None and guide["scripts"] is None
    assert guide["config"]["exec_path"] is None
    severity = {c["id"]: c["severity"] for c in guide["checks"]}
    assert severity["prereq-unversioned"] == "error"  # raised by the policy's [severity]
    assert guide["recipes"] == [{"family": "deb", "globs": ["debian/control"]}]
