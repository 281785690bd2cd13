"""docker-compose.yml run for real without Docker, one release driven through nginx."""

import shutil

import pytest

from deploy import native_stack


def test_interpolation_as_compose_does():
    env = {"SET": "value", "EMPTY": ""}
    assert (
        native_stack.interpolate("${SET:-d}/${EMPTY:-d}/${NOPE-d}/${EMPTY-d}", env) == "value/d/d/"
    )
    assert native_stack.interpolate("$$HOME ${SET}", env) == "$HOME value"
    with pytest.raises(SystemExit, match="set it"):
        native_stack.interpolate("${NOPE:?set it}", env)


def test_every_compose_service_is_mapped():
    compose = native_stack.load_compose({"SECRET_KEY": "x"})
    services = set(compose["services"])
    assert services == native_stack.INFRASTRUCTURE | set(native_stack.PROCESSES)
    # The anchor is merged into every portal process, the front server included.
    for name in native_stack.PROCESSES:
        assert native_stack.service_env(compose["services"][name])["PORTAL_ENV"] == "production"


@pytest.mark.slow
@pytest.mark.services
def test_one_release_through_nginx():
    missing = [
        tool
        for tool in ("redis-server", "nginx")
        if not shutil.which(tool, path="/usr/sbin:/usr/bin:/bin")
    ]
    assert not missing, f"install Debian's {' '.join(missing)}"
    with native_stack.NativeStack(timeout=240) as stack:
        base = stack.up()
        try:
            results = native_stack.drive(stack, base)
        except BaseException:
            for name, process in stack.processes.items():
                print(f"--- {name}\n{process.log()[-2000:]}")
            raise
    assert results["fedora-broken"] == "failed"
    assert results["fedora"] == results["ubuntu"] == "passed"
