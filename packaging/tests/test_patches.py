"""The patch ledger: patches found in every format, merged into one entry per fix, with statuses
computed by real GNU patch on real trees, and an mbox that real git am applies."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess

import patchfixtures as fx
import pytest
from builders import E, d, gz, tar_bytes

from bundlecheck.patchapply import ledger_status
from bundlecheck.patches import BundlePatches, build_ledger, find_patches, status_changes
from bundlecheck.patchmbox import ledger_mbox

needs_patch = pytest.mark.skipif(shutil.which("patch") is None, reason="GNU patch is not installed")
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def found(name: str, data: bytes) -> BundlePatches:
    return find_patches(io.BytesIO(data), bundle=name)


def field_ledger():
    return build_ledger([found("debian.tar.gz", fx.debian_bundle()),
                         found("fedora.tar.gz", fx.fedora_bundle()),
                         found("arch.tar.gz", fx.arch_bundle()), found("gentoo.tar.gz", fx.gentoo_bundle())])


def fix_entry(ledger):
    (entry,) = [e for e in ledger.entries if len(e.carriers) == 3]
    return entry


# --- finding the patches -----------------------------------------------------------------


@pytest.mark.parametrize(("make", "path", "via"), [
    (fx.debian_bundle, "distros/debian/debian/patches/fix-paramiko-spin.patch", "debian/patches/series"),
    (fx.fedora_bundle, "distros/fedora/convirt-2.0-paramiko.patch", "convirt.spec Patch0"),
    (fx.arch_bundle, "distros/arch/paramiko-keepalive.patch", "PKGBUILD source"),
    (fx.gentoo_bundle, "distros/gentoo/app-emulation/convirt/files/convirt-2.0-paramiko-keepalive.patch",
     "ebuild PATCHES"),
])
def test_each_format_is_found(make, path, via):
    result = found("b.tar.gz", make())
    assert [(p.path, p.via) for p in result.patches] == [(path, via)]
    assert result.problems == []
    assert {f.path for f in result.patches[0].files} >= {fx.TRANSPORT}


def test_plain_patches_directory_and_a_bundle_under_the_release_root():
    data = gz(tar_bytes([d("convirt-2.0"), d("convirt-2.0/distros"), d("convirt-2.0/distros/suse"),
                         d("convirt-2.0/distros/suse/patches"),
                         E("convirt-2.0/distros/suse/patches/keepalive.diff",
                           fx.fix_diff("a/", "b/").encode()),
                         E("convirt-2.0/distros/suse/patches/README", b"not a patch\n")]))
    result = found("suse.tar.gz", data)
    assert [(p.distro, p.path, p.via) for p in result.patches] == [
        ("suse", "distros/suse/patches/keepalive.diff", "patches/")]


@pytest.mark.parametrize(("old", "new", "suffix"), [
    ("convirt-2.0/", "convirt-2.0/", ".orig"),  # gendiff, no recipe saying -p1
    ("a/", "b/", ""),
    ("convirt-2.0.orig/", "convirt-2.0/", ""),
    ("", "", ""),  # diff -u run inside the tree: -p0
])
def test_prefix_depth_is_found_without_a_recipe(old, new, suffix):
    plain = fx.bundle("suse", {"patches/fix.patch": fx.fix_diff(old, new, old_suffix=suffix).encode()})
    ledger = build_ledger([found("debian.tar.gz", fx.debian_bundle()), found("suse.tar.gz", plain)])
    (entry,) = ledger.entries
    assert [c.patch.distro for c in entry.carriers] == ["debian", "suse"]


def test_dep3_header_is_read():
    (patch,) = found("debian.tar.gz", fx.debian_bundle()).patches
    h = patch.header
    assert h["description"].startswith("Stop the transport loop spinning on a closed socket\nparamiko's")
    assert h["author"] == "Jane Packager <jane@debian.example>"
    assert h["origin"].startswith("vendor, https://salsa.debian.example/")
    assert h["bug"] == ["https://bugs.convirt.example/42", "https://bugs.debian.example/654321"]
    assert h["forwarded"] == "no"
    assert h["last_update"] == "2026-11-30"


def test_git_format_patch_header_is_read():
    (patch,) = found("arch.tar.gz", fx.arch_bundle()).patches
    assert patch.header["author"] == "Arch Packager <arch@archlinux.example>"
    assert patch.header["description"] == "paramiko: do not spin on a closed transport"


# --- one entry per fix ------------------------------------------------------------------------


def test_same_fix_in_three_formats_with_different_prefixes_is_one_entry():
    ledger = field_ledger()
    entry = fix_entry(ledger)
    assert sorted(c.patch.distro for c in entry.carriers) == ["arch", "debian", "fedora"]
    # The three diffs differ (prefixes, line numbers, context, trailing spaces), the fix does not.
    assert len({c.patch.diff for c in entry.carriers}) == 3
    assert {f.path for c in entry.carriers for f in c.patch.files} == {fx.TRANSPORT}
    data = entry.to_dict()
    assert data["author"] == "Jane Packager <jane@debian.example>"  # the fullest DEP-3 header wins
    assert data["bug"] == ["https://bugs.convirt.example/42", "https://bugs.debian.example/654321"]
    assert len(ledger.entries) == 2


def test_a_patch_with_the_fix_and_more_contains_the_entry():
    ledger = field_ledger()
    entry = fix_entry(ledger)
    (bigger,) = [e for e in ledger.entries if e is not entry]
    assert [c.patch.distro for c in bigger.carriers] == ["gentoo"]
    assert bigger.contains == [entry.id]
    assert entry.contained_in == [bigger.id]


def test_a_different_fix_is_another_entry():
    other = fx.udiff(fx.transport(), fx.transport().replace("self.sock.close()", "self.sock.shutdown(2)"),
                     "a/" + fx.TRANSPORT, "b/" + fx.TRANSPORT).encode()
    ledger = build_ledger([found("debian.tar.gz", fx.debian_bundle()),
                           found("suse.tar.gz", fx.bundle("suse", {"patches/close.patch": other}))])
    assert sorted(len(e.carriers) for e in ledger.entries) == [1, 1]
    assert all(not e.contains and not e.contained_in for e in ledger.entries)


def test_ledger_json_round_trips():
    data = json.loads(json.dumps(field_ledger().to_dict()))
    assert data["bundles"] == ["debian.tar.gz", "fedora.tar.gz", "arch.tar.gz", "gentoo.tar.gz"]
    assert data["entries"][0]["carriers"][0]["distro"] == "arch"
    assert data["entries"][0]["diff"].startswith("--- a/src/paramiko/transport.py\n+++ b/src/paramiko/")


# --- status against a pre-release, with real GNU patch -------------------------------------------


def status_against(transport_text: str, client_text: str | None = None):
    ledger = field_ledger()
    ledger_status(ledger, io.BytesIO(fx.prerelease(transport_text, client_text)), name="convirt-2.0.tar.gz")
    return ledger, fix_entry(ledger)


@needs_patch
def test_applies():
    ledger, entry = status_against(fx.transport())
    states = {c.patch.distro: c.status.state for e in ledger.entries for c in e.carriers}
    # Fedora made its patch against a tree two lines longer: the same fix lands 2 lines up.
    assert states == {"debian": "applies", "arch": "applies", "gentoo": "applies",
                      "fedora": "applies-with-fuzz"}
    assert "offset -2 lines" in next(c for c in entry.carriers if c.patch.distro == "fedora").status.detail
    assert ledger.against == "convirt-2.0.tar.gz"
    assert entry.to_dict()["status"]["state"] == "applies"


@needs_patch
def test_applies_with_offset():
    _, entry = status_against(fx.transport(shift=7))
    assert {c.status.state for c in entry.carriers} == {"applies-with-fuzz"}
    assert "offset 7 lines" in entry.status.detail  # Debian's copy, the entry's representative
    assert fx.TRANSPORT in entry.status.detail


@needs_patch
def test_applies_with_fuzz():
    # The outermost line of context changed: GNU patch applies the hunk with fuzz.
    moved = fx.transport().replace("    def _send_user_message(self, data):",
                                   "    def _send_user_message(self, data, timeout=None):")
    _, entry = status_against(moved)
    assert entry.status.state == "applies-with-fuzz"
    assert "fuzz" in entry.status.detail


@needs_patch
def test_already_upstream_says_drop_it():
    ledger, entry = status_against(fx.transport(fixed=True), fx.client(fixed=True))
    assert {c.status.state for e in ledger.entries for c in e.carriers} == {"already-upstream"}
    assert "drop it" in entry.status.detail


@needs_patch
def test_conflict_names_file_and_hunk():
    _, entry = status_against(fx.transport(conflicting=True))
    status = entry.status
    assert status.state == "conflicts"
    (conflict,) = status.conflicts
    assert conflict["file"] == fx.TRANSPORT
    assert conflict["hunk"] == 1
    assert conflict["header"].startswith("@@ -")
    assert f"{fx.TRANSPORT} hunk #1" in status.detail


@needs_patch
def test_file_missing_from_the_prerelease_is_a_conflict():
    ledger = field_ledger()
    data = gz(tar_bytes([d("convirt-2.0"), E("convirt-2.0/README", b"x\n")]))
    ledger_status(ledger, io.BytesIO(data), name="pre.tar.gz")
    status = fix_entry(ledger).status
    assert status.state == "conflicts"
    assert status.conflicts[0]["file"] == fx.TRANSPORT
    assert "not in the pre-release" in status.detail


@needs_patch
def test_unsafe_prerelease_gives_unknown_and_a_problem():
    ledger = field_ledger()
    evil = gz(tar_bytes([d("convirt-2.0"), E("convirt-2.0/../../etc/passwd", b"x\n")]))
    ledger_status(ledger, io.BytesIO(evil), name="evil.tar.gz")
    assert {c.status.state for e in ledger.entries for c in e.carriers} == {"unknown"}
    assert any(p.check == "prerelease-unusable" for p in ledger.problems)


@needs_patch
def test_status_changes_between_prereleases():
    before, _ = status_against(fx.transport())
    after, _ = status_against(fx.transport(fixed=True))
    changes = status_changes(before.to_dict(), after)
    debian = next(c for c in changes if c["distro"] == "debian")
    assert (debian["before"], debian["after"]) == ("applies", "already-upstream")
    assert status_changes(after.to_dict(), after) == []


# --- the mbox for upstream -------------------------------------------------------------------


def git(*args: str, cwd: str) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": cwd, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_COMMITTER_NAME": "Upstream", "GIT_COMMITTER_EMAIL": "upstream@convirt.example"}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@needs_git
@pytest.mark.parametrize("which", ["fix", "superset"])
def test_mbox_applies_with_git_am(tmp_path, which):
    ledger = field_ledger()
    entry = fix_entry(ledger)
    chosen = entry if which == "fix" else ledger.entry(entry.contained_in[0])
    mbox = ledger_mbox(ledger, [chosen.id], date=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    repo = str(tmp_path / "repo")
    fx.extract_to(fx.prerelease(fx.transport()), repo)
    repo = os.path.join(repo, "convirt-2.0")
    git("init", "-q", cwd=repo)
    git("add", ".", cwd=repo)
    git("-c", "user.name=Upstream", "-c", "user.email=upstream@convirt.example", "commit", "-qm", "2.0-pre",
        cwd=repo)
    (tmp_path / "ledger.mbox").write_text(mbox)
    git("am", str(tmp_path / "ledger.mbox"), cwd=repo)
    with open(os.path.join(repo, fx.TRANSPORT)) as f:
        assert "if not self.active or self.sock is None:" in f.read()
    log = git("log", "-1", "--format=%an <%ae>%n%s%n%b", cwd=repo)
    if which == "fix":
        assert log.startswith("Jane Packager <jane@debian.example>\n"
                              "Stop the transport loop spinning on a closed socket\n")
        assert "Bug: https://bugs.convirt.example/42" in log
        for distro in ("debian", "fedora", "arch"):
            assert f"Carried-by: {distro} (" in log
    else:
        assert "Carried-by: gentoo (" in log


def test_mbox_keeps_markup_and_odd_lines_out_of_the_mail_structure():
    header = ("Description: <b>Fix</b> it\n more\n ---\n diff -u x y\nAuthor: Ann Müller\n---\n")
    data = fx.bundle("suse", {"patches/x.patch": (header + fx.fix_diff("a/", "b/")).encode()})
    result = found("suse.tar.gz", data)
    assert [p.check for p in result.problems] == ["patch-header-markup"]
    mbox = ledger_mbox(build_ledger([result]), date=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert "\n ---\n diff -u x y\n" in mbox  # indented: not taken for the start of the diff
    assert "From: =?utf-8?q?Ann_M=C3=BCller?= <packagers@invalid>" in mbox


# --- bad input: a problem in plain words, a bounded cost ------------------------------------------


def problems_of(files: dict[str, bytes], distro: str = "debian") -> list[tuple[str, str]]:
    result = found(f"{distro}.tar.gz", fx.bundle(distro, files))
    assert result.patches == [] or all(p.path.endswith("ok.patch") for p in result.patches)
    return [(p.check, p.message) for p in result.problems]


SERIES = "debian/patches/series"


@pytest.mark.parametrize(("files", "check", "words"), [
    ({SERIES: b"notes.patch\n", "debian/patches/notes.patch": b"Remember to fix the keepalive.\n"},
     "patch-not-a-diff", "holds no unified diff"),
    ({SERIES: b"icon.patch\n", "debian/patches/icon.patch":
      b"diff --git a/icon.png b/icon.png\nBinary files a/icon.png and b/icon.png differ\n"},
     "patch-binary", "binary diff of icon.png"),
    ({SERIES: b"climb.patch\n", "debian/patches/climb.patch":
      fx.fix_diff("a/../../", "b/../../").encode()}, "patch-unsafe-path", "outside the source tree"),
    ({SERIES: b"abs.patch\n", "debian/patches/abs.patch":
      fx.udiff("a\n", "b\n", "/etc/passwd", "/etc/passwd").encode()}, "patch-unsafe-path", "absolute"),
    ({SERIES: b"gone.patch\n"}, "patch-missing", "debian/patches/gone.patch (named by "
     "distros/debian/debian/patches/series line 1) is not in the bundle"),
    ({SERIES: b"../../../etc/shadow\n"}, "patch-unsafe-path", "outside the packaging directory"),
    ({SERIES: b"ok.patch\nok.patch\n", "debian/patches/ok.patch": fx.fix_diff("a/", "b/").encode()},
     "patch-listed-twice", "line 2 names ok.patch again"),
    ({SERIES: b"series\n"}, "patch-not-a-diff", "series holds no unified diff"),
    ({SERIES: b"cut.patch\n", "debian/patches/cut.patch":
      b"--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n"}, "patch-malformed", "not a well-formed diff"),
    ({"convirt.spec": b"Name: convirt\nPatch1: %{oddmacro}-fix.patch\n"}, "patch-unresolved",
     "checked by hand"),
])
def test_bad_patches_give_a_problem(files, check, words):
    problems = problems_of(files)
    assert check in [c for c, _ in problems]
    assert any(words in message for c, message in problems if c == check), problems


def test_markup_in_a_dep3_header_is_kept_as_text_with_a_note():
    header = b"Description: <script>alert(1)</script> fix\nAuthor: <img src=x onerror=alert(1)>\n---\n"
    result = found("d.tar.gz", fx.bundle("debian", {
        SERIES: b"x.patch\n", "debian/patches/x.patch": header + fx.fix_diff("a/", "b/").encode()}))
    (patch,) = result.patches
    assert patch.header["description"] == "<script>alert(1)</script> fix"
    assert sorted(p.message.split(": the ")[1].split(" ")[0] for p in result.problems) == [
        "author", "description"]


def test_a_50_mb_diff_is_not_read(policy):
    import time

    big = b"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n" + b"#" * (50 << 20)
    data = fx.bundle("debian", {SERIES: b"big.patch\n", "debian/patches/big.patch": big})
    started = time.monotonic()
    result = found("d.tar.gz", data)
    assert time.monotonic() - started < 10
    (problem,) = result.problems
    assert problem.check == "patch-too-large"
    assert "over the 1048576 bytes the ledger reads" in problem.message


def test_100000_hunks_are_refused_before_parsing():
    import time

    from bundlecheck.patches import parse_patch

    text = b"--- a/x\n+++ b/x\n" + b"@@ -1 +1 @@\n-a\n+b\n" * 100_000
    problems: list = []
    started = time.monotonic()
    assert parse_patch(text, bundle="b", distro="debian", path="p.patch", via="patches/", strip=None,
                       problems=problems) is None
    assert time.monotonic() - started < 1
    assert problems[0].check == "patch-too-large"
    assert "100000 hunks" in problems[0].message


def test_a_corrupt_bundle_gives_one_problem_and_no_patches():
    result = found("bad.tar.gz", fx.debian_bundle()[:-40])
    assert result.patches == []
    assert [p.severity for p in result.problems] == ["error"]
    assert "no patches read" in result.problems[0].message


def links(name: str, target: str) -> bytes:
    return gz(tar_bytes([d("distros"), d("distros/debian"), d("distros/debian/debian"),
                         d("distros/debian/debian/patches"),
                         E("distros/debian/debian/patches/series", f"{name}\n".encode()),
                         E("distros/debian/debian/patches/real.diff", fx.fix_diff("a/", "b/").encode()),
                         E(f"distros/debian/debian/patches/{name}", type=b"2", linkname=target)]))


def test_a_symlinked_patch_is_not_followed():
    result = found("d.tar.gz", links("alias.patch", "real.diff"))
    assert result.patches == []
    assert any("is a symlink, not a patch file" in p.message for p in result.problems)


def test_a_symlink_loop_is_refused_by_the_reader():
    result = found("d.tar.gz", links("loop.patch", "loop.patch"))
    assert result.patches == []
    assert [p.check for p in result.problems] == ["archive-unsafe-link"]


@needs_patch
def test_patches_never_touch_the_scratch_copy_or_anything_else(tmp_path, monkeypatch):
    # GNU patch runs in dry-run mode inside a temporary directory: nothing else is written.
    monkeypatch.chdir(tmp_path)
    ledger = field_ledger()
    ledger_status(ledger, io.BytesIO(fx.prerelease(fx.transport())), name="pre")
    assert list(tmp_path.iterdir()) == []


@needs_patch
def test_a_hunk_already_upstream_in_a_conflicting_patch_is_marked():
    ledger, entry = status_against(fx.transport(fixed=True))  # client.py not fixed yet
    bigger = ledger.entry(entry.contained_in[0])
    (conflict,) = bigger.status.conflicts
    assert (conflict["file"], conflict["hunk"], conflict["upstream"]) == (fx.TRANSPORT, 1, True)
    assert "already upstream" in bigger.status.detail


# --- the command ------------------------------------------------------------------------------


@needs_patch
def test_cli_prints_the_merged_ledger_and_exits_0(tmp_path, capsys):
    from bundlecheck.cli import main

    paths = []
    for name, make in [("debian", fx.debian_bundle), ("fedora", fx.fedora_bundle), ("arch", fx.arch_bundle)]:
        path = tmp_path / f"{name}.tar.gz"
        path.write_bytes(make())
        paths.append(str(path))
    pre = tmp_path / "convirt-2.0.tar.gz"
    pre.write_bytes(fx.prerelease(fx.transport(fixed=True)))
    assert main(["patches", *paths, "--against", str(pre), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (entry,) = data["entries"]
    assert [c["distro"] for c in entry["carriers"]] == ["arch", "debian", "fedora"]
    assert entry["status"]["state"] == "already-upstream"
    assert main(["patches", *paths, "--against", str(pre)]) == 0
    text = capsys.readouterr().out
    assert f"{entry['id']}  Stop the transport loop spinning on a closed socket" in text
    assert "carried by fedora: " in text and "[convirt.spec Patch0] — already-upstream" in text
    assert text.rstrip().endswith("1 fix(es) in 3 patch(es) from 3 bundle(s), against " + str(pre))


def test_cli_bad_bundle_is_a_problem_not_a_crash(tmp_path, capsys):
    from bundlecheck.cli import main

    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive")
    assert main(["patches", str(junk)]) == 0
    assert "is not a source bundle" in capsys.readouterr().out
    assert main(["patches", str(tmp_path / "missing.tar.gz")]) == 2


@pytest.mark.parametrize(("name", "text"), [
    ("PKGBUILD", "source=(\"x.patch\n" * 60_000),  # unclosed quotes, one array per line
    ("PKGBUILD", "source=(x.patch)\n" + "patch -p1 " * 100_000 + "x.patch\n"),  # one 1 MB line
    ("convirt-2.0.ebuild", "PATCHES=(" + "(" * 10_000 + ")" * 10_000 + ")\n" * 1000),
    ("convirt.spec", ("Patch0: x.patch\n%patch0 " + "-" * 100_000 + "\n") * 9),
])
def test_hostile_recipes_cost_a_bounded_time(name, text):
    import time

    data = fx.bundle("arch", {name: text.encode()[: 1 << 20]})
    started = time.monotonic()
    found("arch.tar.gz", data)
    assert time.monotonic() - started < 3


def test_problems_are_capped_with_a_closing_count():
    series = "".join(f"missing-{n}.patch\n" for n in range(500)).encode()
    result = found("d.tar.gz", fx.bundle("debian", {SERIES: series}))
    assert len(result.problems) == 201
    assert result.problems[-1].check == "patch-problems-omitted"
    assert "300 more problems were left out" in result.problems[-1].message


def test_a_spec_saying_p0_is_believed():
    spec = b"Name: convirt\nPatch0: fix.patch\n%prep\n%autosetup -p0\n"
    data = fx.bundle("fedora", {"convirt.spec": spec, "fix.patch": fx.fix_diff("", "").encode()})
    ledger = build_ledger([found("debian.tar.gz", fx.debian_bundle()), found("fedora.tar.gz", data)])
    (entry,) = ledger.entries
    assert [c.patch.via for c in entry.carriers] == ["debian/patches/series", "convirt.spec Patch0"]
