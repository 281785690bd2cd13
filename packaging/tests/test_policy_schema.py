"""The policy's JSON Schema comes from the loader's own definition and agrees with it."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from test_policy import DEPLOYMENT, MINIMAL

import bundlecheck
from bundlecheck import policyspec

SHIPPED = resources.files("bundlecheck") / "policy.schema.json"


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(bundlecheck.policy_schema(),
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_the_shipped_schema_is_the_generated_one():
    # Regenerate with: bundlecheck policy schema > src/bundlecheck/policy.schema.json
    assert json.loads(SHIPPED.read_text()) == bundlecheck.policy_schema()
    assert SHIPPED.read_text() == policyspec.json_schema_text()


def test_the_schema_is_draft_2020_12():
    schema = bundlecheck.policy_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("text", [
    (resources.files("bundlecheck") / "policies" / "convirt.toml").read_text(),
    MINIMAL,
    MINIMAL + DEPLOYMENT.replace('"0755"', '"0644"').replace('"0600"', '"0644"').replace('"0640"', '"0644"'),
], ids=["convirt", "minimal", "with-deployment"])
def test_policies_the_loader_accepts_validate(text):
    bundlecheck.parse_policy(text)
    errors = list(_validator().iter_errors(tomllib.loads(text)))
    assert not errors, [e.message for e in errors]


@pytest.mark.parametrize(("old", "new"), [
    ("[layout]\n", "[layout]\nrooot = 'x'\n"),
    ('root = "other-*"\n', ""),
    ('root = "other-*"', "root = 3"),
    ('contribution_roots = ["pkg/{distro}/"]', 'contribution_roots = ["/pkg/{distro}/"]'),
    ('contribution_roots = ["pkg/{distro}/"]', 'contribution_roots = ["pkg/../{distro}/"]'),
    ('distro_dir = "pkg/{distro}/"', 'distro_dir = "pkg/"'),
    ('min_version = "2.0"', 'min_version = "latest"'),
    ('"prereq-unversioned" = "error"', '"prereq-unversioned" = "fatal"'),
    ('"prereq-unversioned" = "error"', '"No Such Check!" = "error"'),
    ("schema = 1", "schema = 2"),
    ('key = "prefix"', 'key = "prefix"\ncheck = "Nope!"'),
])
def test_what_the_loader_refuses_the_schema_refuses(old, new):
    text = MINIMAL.replace(old, new)
    assert text != MINIMAL
    with pytest.raises(bundlecheck.PolicyError):
        bundlecheck.parse_policy(text)
    assert list(_validator().iter_errors(tomllib.loads(text)))


def test_a_bad_mode_is_refused_by_both():
    text = MINIMAL + DEPLOYMENT.replace('"0755"', '"755x"')
    with pytest.raises(bundlecheck.PolicyError, match="not an octal file mode"):
        bundlecheck.parse_policy(text)
    assert any("755x" in e.message for e in _validator().iter_errors(tomllib.loads(text)))


README = Path(__file__).parents[1] / "README.md"


def test_the_readme_key_reference_is_the_generated_one():
    readme = README.read_text()
    start, end = readme.index(policyspec.README_START), readme.index(policyspec.README_END)
    assert readme[start:end + len(policyspec.README_END)] == policyspec.reference_markdown(), (
        "regenerate README.md's key reference: python -c 'import bundlecheck.policyspec as s; "
        "print(s.reference_markdown())'")


def test_every_key_of_the_definition_is_documented():
    readme = README.read_text()
    keys = policyspec.every_key()
    assert {"layout.root", "deployment.tree.mode", "config.exec_path.tools", "prereqs.min_version",
            "patched_prereq.fixed_version", "limits.lint_timeout"} <= set(keys)
    missing = [k for k in keys if f"| `{k}` |" not in readme and f"**[{k}]**" not in readme
               and f"**[[{k}]]**" not in readme]
    assert not missing, f"undocumented policy keys: {missing}"
    for section in ("## Policy format", "policy check", "policy guide", "policy schema",
                    "Copy `src/bundlecheck/policies/convirt.toml`"):
        assert section in readme
