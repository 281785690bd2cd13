"""The publishing tests keep their local storages apart: no test reads another's files."""

import pytest


@pytest.fixture(autouse=True)
def fresh_local_storages(request, settings, tmp_path):
    """Each test gets its own local `uploads` and `public` folders: no leftovers.

    Not with a worker process: it reads the storages of the settings it started with.
    """
    if "worker" in request.fixturenames:
        return None
    storages = dict(settings.STORAGES)
    for alias in ("uploads", "public"):
        if storages[alias]["BACKEND"].endswith("FileSystemStorage"):
            options = {**storages[alias]["OPTIONS"], "location": str(tmp_path / alias)}
            storages[alias] = {**storages[alias], "OPTIONS": options}
    settings.STORAGES = storages
    return tmp_path


@pytest.fixture
def public_dir(fresh_local_storages):
    return fresh_local_storages / "public"
