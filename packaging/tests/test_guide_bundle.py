"""The guide's drawn bundle and its `tar` command make a bundle the engine accepts;
`--policy` reads a policy from its address, within bounds; each check has its why."""

from __future__ import annotations

import http.server
import subprocess
import threading

import pytest
from builders import CONF, CONTROL, POSTINST

import bundlecheck
from bundlecheck import cli
from bundlecheck.guide import WHY, bundle_tree, tar_command, why_section


def test_the_guide_s_tar_command_makes_a_bundle_that_passes(tmp_path, policy):
    top = tmp_path / "convirt-2.0"
    (top / "distros" / "ubuntu" / "debian").mkdir(parents=True)
    (top / "install" / "client" / "distros" / "ubuntu").mkdir(parents=True)
    (top / "src").mkdir()
    (top / "src" / "convirt.py").write_text("upstream's, not in the bundle\n")
    (top / "distros" / "ubuntu" / "debian" / "control").write_bytes(CONTROL)
    (top / "distros" / "ubuntu" / "postinst").write_bytes(POSTINST)
    (top / "distros" / "ubuntu" / "postinst").chmod(0o755)
    (top / "install" / "client" / "distros" / "ubuntu" / "convirt.conf").write_bytes(CONF)
    command = tar_command(policy)
    assert command == "tar -czf convirt-$DISTRO.tar.gz distros/$DISTRO install/client/distros/$DISTRO"
    subprocess.run(["bash", "-c", f"DISTRO=ubuntu; {command}"], cwd=top, check=True)
    with (top / "convirt-ubuntu.tar.gz").open("rb") as bundle:
        report = bundlecheck.verify(bundle, distro="ubuntu", policy=policy)
    assert [f.check for f in report.findings if f.severity == "error"] == []
    tree = bundle_tree(policy)
    assert tree.splitlines()[0] == "convirt-$DISTRO.tar.gz"
    assert "│   └── $DISTRO/    ← your directory: must be there" in tree
    assert "└── convirt.conf    ← or at distros/$DISTRO/convirt.conf" in tree


def test_every_engine_check_but_the_policy_s_own_has_a_why(policy):
    for check_id in bundlecheck.CHECKS:
        assert why_section(check_id) in WHY, check_id
    assert why_section("lintian:binary-without-manpage") == "linters"
    assert why_section("paramiko-patch-missing") is None  # declared by the policy, described there


class _Policy(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):
        if self.path == "/missing":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/toml")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def served():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Policy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_policy_is_read_from_its_address(served, capsys):
    _Policy.body = (bundlecheck.policy.read_policy("convirt")[0]).encode()
    assert cli.main(["policy", "check", served + "/projects/convirt/policy.toml"]) == 0
    assert "valid policy convirt" in capsys.readouterr().out
    _Policy.body = b"x" * (bundlecheck.MAX_POLICY_BYTES + 10)
    assert cli.main(["checks", "--policy", served + "/big.toml"]) == 2
    assert "that is not a policy" in capsys.readouterr().err
    assert cli.main(["checks", "--policy", served + "/missing"]) == 2
    assert "answered HTTP 404" in capsys.readouterr().err


def test_the_version_is_printed(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"bundlecheck {bundlecheck.__version__}"


def test_the_image_store_advice_says_what_to_add_not_where_to_look(policy):
    import io

    from builders import gz, reference_tree, tar_bytes, ubuntu_files

    report = bundlecheck.verify(
        io.BytesIO(gz(tar_bytes(reference_tree() + ubuntu_files()))), distro="ubuntu", policy=policy
    )
    (advice,) = [f for f in report.findings if f.check == "image-store-missing"]
    assert "documentation" not in advice.hint
    assert "image_store/ubuntu_vm/" in advice.hint and "provision.sh" in advice.hint
