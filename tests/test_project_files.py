"""docker-compose.yml, the Dockerfile and the README agree with the code.

No Docker engine runs here, so the stack is checked by reading it: valid YAML,
the expected services, commands that exist in this repository, and only
environment variables that README.md documents and the settings read.
"""

import importlib
import re
import shlex
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
README = (REPO / "README.md").read_text()
SETTINGS_SOURCE = (REPO / "portal" / "settings.py").read_text()
PORTAL_SERVICES = ("web", "worker", "beat")


def documented_variables() -> set[str]:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (`[A-Z0-9_]+`(?:, `[A-Z0-9_]+`)*) \|", section, re.M)
    return {name for row in rows for name in re.findall(r"`([A-Z0-9_]+)`", row)}


def test_compose_has_the_production_like_stack():
    assert set(COMPOSE["services"]) >= {"web", "worker", "beat", "db", "redis", "s3"}
    for name in PORTAL_SERVICES:
        env = COMPOSE["services"][name]["environment"]
        assert env["PORTAL_ENV"] == "production"
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")
        assert env["STORAGE_BACKEND"] == "s3"


def test_every_compose_variable_is_documented_and_read_by_the_settings():
    documented = documented_variables()
    for name in PORTAL_SERVICES:
        for variable in COMPOSE["services"][name]["environment"]:
            assert variable in documented, f"{variable} is not in README's table"
            assert f'"{variable}"' in SETTINGS_SOURCE, f"settings never read {variable}"


def test_every_variable_the_settings_read_is_documented():
    read = set(
        re.findall(r'(?:env|env_bool|env_int|env_list|require)\("([A-Z0-9_]+)"', SETTINGS_SOURCE)
    )
    assert read, "the pattern no longer matches the settings module"
    assert read <= documented_variables(), read - documented_variables()


def command_words(service: str) -> list[str]:
    command = COMPOSE["services"][service]["command"]
    return shlex.split(command) if isinstance(command, str) else command


@pytest.mark.parametrize("service", PORTAL_SERVICES)
def test_compose_commands_exist_in_this_repository(service):
    words = command_words(service)
    text = " ".join(words)
    if "celery" in words:
        assert words[words.index("-A") + 1] == "portal"
        assert importlib.import_module("portal").celery_app.main == "portal"
        assert ("worker" in words) or ("beat" in words)
    for module, attr in re.findall(r"gunicorn ([\w.]+):(\w+)", text):
        assert hasattr(importlib.import_module(module), attr)
    for command in re.findall(r"manage\.py (\w+)", text):
        from django.core.management import get_commands

        assert command in get_commands(), command


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    assert "python3 dev.py up" in README and "python3 dev.py test" in README
    ci = (REPO / ".ci" / "run").read_text()
    assert "python3 dev.py test" in ci and "REQUIRE_SERVICES=1" in ci


def test_the_image_installs_the_engine_and_the_portal():
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "pip install --no-cache-dir ./packaging ." in dockerfile
    for service in PORTAL_SERVICES:
        assert COMPOSE["services"][service]["build"] == "."
