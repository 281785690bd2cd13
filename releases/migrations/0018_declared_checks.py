"""The engine's check catalogue no longer holds ConVirt's own checks: a policy
declares them ([[checks]]). A project whose newest policy version reports under
config-html-browser-missing, or has python-paramiko as its [patched_prereq],
gets a new version that declares them, so that the engine still reads it and
its reports keep the same finding ids. Versions are never changed: this adds one."""

import hashlib
import re
import tomllib

from django.db import migrations

# Frozen here, as ConVirt's shipped policy declares them.
BROWSER = '''[[checks]]
id = "config-html-browser-missing"
severity = "error"
description = "convirt.conf does not set [CLIENT CONFIGURATION] html_browser, the browser ConVirt opens"
'''
PARAMIKO = '''[[checks]]
id = "paramiko-patch-missing"
severity = "warning"
description = "python-paramiko is neither patched (the guide's ./patches) nor required at a fixed version"
'''
NOTE = "Declares the policy's own checks ([[checks]]): the engine's catalogue no longer holds them."


def declared(text: str) -> str | None:
    """``text`` with the checks it uses declared, or None when it needs nothing (or is not TOML)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    ids = {c.get("id") for c in data.get("checks", []) if isinstance(c, dict)}
    required = data.get("config", {}).get("required", [])
    browser = "config-html-browser-missing" not in ids and any(
        isinstance(r, dict) and r.get("check") == "config-html-browser-missing" for r in required
    )
    patched = data.get("patched_prereq")
    paramiko = (
        isinstance(patched, dict)
        and patched.get("prereq") == "python-paramiko"
        and "check" not in patched
        and "paramiko-patch-missing" not in ids
    )
    if not (browser or paramiko):
        return None
    header = re.search(r"(?m)^\s*\[", text)  # top-level keys end at the first table header
    at = header.start() if header else len(text)
    blocks = (BROWSER if browser else "") + (PARAMIKO if paramiko else "")
    text = text[:at] + blocks + "\n" + text[at:]
    if paramiko:
        text = re.sub(
            r"(?m)^(\s*\[patched_prereq\][^\n]*\n)",
            r'\1check = "paramiko-patch-missing"\n',
            text,
            count=1,
        )
    return text


def forwards(apps, schema_editor):
    Project = apps.get_model("releases", "Project")
    PolicyVersion = apps.get_model("releases", "PolicyVersion")
    for project in Project.objects.all():
        newest = PolicyVersion.objects.filter(project=project).order_by("-number").first()
        if newest is None:
            continue
        text = declared(newest.text)
        if text is None:
            continue
        PolicyVersion.objects.create(
            project=project,
            number=newest.number + 1,
            text=text,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            note=NOTE,
        )


class Migration(migrations.Migration):
    dependencies = [("releases", "0017_patch_ledger")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
