"""Manifests of references and their differences."""

from __future__ import annotations

import io
import json

from builders import E, d, gz, reference_tree, tar_bytes

import bundlecheck


def _manifest(entries):
    return bundlecheck.build_manifest(io.BytesIO(gz(tar_bytes(entries))))


def test_manifest_shape_and_json():
    m = _manifest(reference_tree())
    assert m["root"] == "convirt-2.0"
    entry = m["members"]["install/client/ConVirt"]
    assert entry["type"] == "file" and entry["mode"] == 0o755 and len(entry["sha256"]) == 64
    assert m["members"]["distros"]["type"] == "dir"
    assert json.loads(json.dumps(m)) == m


def test_manifest_diff():
    old = _manifest(reference_tree())
    new_entries = [e for e in reference_tree() if e.name != "convirt-2.0/doc/guide.txt"]
    new_entries = [E(e.name, b"changed", mode=e.mode) if e.name.endswith("convirt.py") else e
                   for e in new_entries]
    new_entries += [d("convirt-2.0/distros/ubuntu"), E("convirt-2.0/distros/ubuntu/convirt.conf", b"x")]
    diff = bundlecheck.manifest_diff(old, _manifest(new_entries))
    assert diff == {
        "added": ["distros/ubuntu", "distros/ubuntu/convirt.conf"],
        "removed": ["doc/guide.txt"],
        "modified": ["src/convirt.py"],
    }
    assert bundlecheck.manifest_diff(old, old) == {"added": [], "removed": [], "modified": []}
