"""The tarball is the tag: real git repositories and tarballs, compared member by member."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sourcerepo import git, make_repo, tarball_of

from bundlecheck import load_policy
from bundlecheck.cli import main
from bundlecheck.gitsource import SourceError, signature_from_status
from bundlecheck.macros import load_macro_index
from bundlecheck.source import collisions, source_compare

PO_M4 = Path("/usr/share/aclocal/po.m4")
C_FILE = '#include <stdio.h>\nint main(void)\n{\n\tputs("hello");\n\treturn 0;\n}\n'
FILES = {"hello.c": C_FILE, "README": "Hello, a tiny program.\n", "docs/guide.txt": "How to.\n"}


@pytest.fixture(scope="session")
def macros():
    return load_macro_index()


@pytest.fixture(scope="session")
def convirt():
    return load_policy("convirt")


def compare(tarball: Path, repo: Path, tag: str = "v1.0", **kw):
    kw.setdefault("policy", "convirt")
    with tarball.open("rb") as f:
        return source_compare(f, repo=str(repo), tag=tag, **kw)


def classes(proof) -> dict[str, str]:
    return {f.path: f.cls for f in proof.files}


def test_a_tarball_made_from_the_tag_is_identical(tmp_path, macros):
    repo = make_repo(tmp_path / "repo", FILES)
    proof = compare(tarball_of(repo, "v1.0", tmp_path / "p.tar.gz"), repo, macros=macros)
    assert classes(proof) == dict.fromkeys(FILES, "identical")
    assert proof.passed
    assert proof.tag.commit == git(repo, "rev-parse", "v1.0^{commit}").strip()
    assert proof.tag.tree == git(repo, "rev-parse", "v1.0^{tree}").strip()
    assert proof.tag.signature.state == "unsigned"
    assert proof.summary().startswith(f"matches tag v1.0 (commit {proof.tag.commit[:7]}), unsigned")


@pytest.mark.skipif(not PO_M4.exists(), reason="gettext's po.m4 is not installed")
def test_an_injected_macro_with_a_known_serial_and_changed_text_is_flagged(tmp_path, macros):
    repo = make_repo(tmp_path / "repo", FILES)
    real = PO_M4.read_text()
    assert "serial 31" in real
    injected = real.replace("AC_REQUIRE([AM_NLS])dnl", 'AC_REQUIRE([AM_NLS])dnl\n'
                            'eval `printf %s "$gl_am_configmake" | tr "\\t \\-_" " \\t_\\-"`', 1)
    assert injected != real
    tarball = tarball_of(repo, "v1.0", tmp_path / "p.tar.gz",
                         add={"m4/po.m4": injected,
                              "m4/nls.m4": Path("/usr/share/aclocal/nls.m4").read_text()})
    proof = compare(tarball, repo, macros=macros)
    verdicts = {f.path: f for f in proof.files}
    assert verdicts["m4/po.m4"].cls == "macro-modified"
    assert "/usr/share/aclocal/po.m4" in verdicts["m4/po.m4"].detail
    assert verdicts["m4/nls.m4"].cls == "generated"  # a verbatim copy of a known macro
    assert not proof.passed


@pytest.mark.skipif(not PO_M4.exists(), reason="gettext's po.m4 is not installed")
def test_a_changed_macro_pasted_into_aclocal_m4_is_flagged(tmp_path, macros):
    repo = make_repo(tmp_path / "repo", FILES)
    header = "# generated automatically by aclocal 1.16.5 -*- Autoconf -*-\n\n"
    clean = header + PO_M4.read_text() + "\n" + Path("/usr/share/aclocal/nls.m4").read_text()
    proof = compare(tarball_of(repo, "v1.0", tmp_path / "ok.tar.gz", add={"aclocal.m4": clean}),
                    repo, macros=macros)
    assert classes(proof)["aclocal.m4"] == "generated"
    dirty = clean.replace("AC_REQUIRE([AM_NLS])dnl", "AC_REQUIRE([AM_NLS])dnl\n  eval $gl_path_map", 1)
    proof = compare(tarball_of(repo, "v1.0", tmp_path / "bad.tar.gz", add={"aclocal.m4": dirty}),
                    repo, macros=macros)
    found = {f.path: f for f in proof.files}["aclocal.m4"]
    assert found.cls == "macro-modified"
    assert "po.m4" in found.detail and "nls.m4" not in found.detail


def test_a_binary_blob_only_in_the_tarball_is_named_whatever_the_patterns(tmp_path, macros, convirt):
    repo = make_repo(tmp_path / "repo", FILES)
    blob = b"\xfd7zXZ\x00\x00" + os.urandom(2000)
    tarball = tarball_of(repo, "v1.0", tmp_path / "p.tar.gz",
                         add={"tests/files/bad-3-corrupt_lzma2.xz": blob, "configure.bin": blob})
    proof = compare(tarball, repo, macros=macros)
    found = classes(proof)
    assert found["tests/files/bad-3-corrupt_lzma2.xz"] == "binary-unexpected"
    assert found["configure.bin"] == "binary-unexpected"
    assert not proof.passed


def test_a_modified_c_file_differs_with_a_unified_diff(tmp_path, macros):
    repo = make_repo(tmp_path / "repo", FILES)
    tarball = tarball_of(repo, "v1.0", tmp_path / "p.tar.gz",
                         add={"hello.c": C_FILE.replace('puts("hello");', 'puts("hello"); system("id");')})
    proof = compare(tarball, repo, macros=macros)
    verdict = {f.path: f for f in proof.files}["hello.c"]
    assert verdict.cls == "differs"
    assert verdict.diff is not None
    assert '-\tputs("hello");' in verdict.diff and '+\tputs("hello"); system("id");' in verdict.diff
    assert verdict.diff.startswith("--- tag/hello.c\n+++ tarball/hello.c\n")
    assert classes(proof)["README"] == "identical"
    assert not proof.passed


def test_export_ignore_files_are_not_listed_and_a_file_only_in_the_tag_warns(tmp_path, macros):
    files = {**FILES, ".gitattributes": "ci/ export-ignore\n.gitlab-ci.yml export-ignore\n",
             "ci/run.sh": "#!/bin/sh\nexit 0\n", ".gitlab-ci.yml": "test: {}\n"}
    repo = make_repo(tmp_path / "repo", files)
    proof = compare(tarball_of(repo, "v1.0", tmp_path / "p.tar.gz", remove=("docs/guide.txt",)),
                    repo, macros=macros)
    found = classes(proof)
    assert "ci/run.sh" not in found and ".gitlab-ci.yml" not in found
    assert found["docs/guide.txt"] == "only-in-tag"
    assert found[".gitattributes"] == "identical"
    assert proof.passed  # only-in-tag is a warning


def test_unexpected_files_symlinks_and_generated_patterns(tmp_path, macros):
    repo = make_repo(tmp_path / "repo", {**FILES, "link": "->README"})
    tarball = tarball_of(repo, "v1.0", tmp_path / "p.tar.gz", remove=("link",),
                         add={"link": "->hello.c", "configure": "#!/bin/sh\n", "sub/Makefile.in": "all:\n",
                              "po/hello.pot": "msgid \"\"\n", "backdoor.sh": "#!/bin/sh\n"})
    proof = compare(tarball, repo, macros=macros)
    verdicts = {f.path: f for f in proof.files}
    assert verdicts["link"].cls == "differs"
    assert "a link to 'hello.c' in the tarball, to 'README' in the tag" in verdicts["link"].detail
    assert verdicts["configure"].cls == "generated"
    assert verdicts["sub/Makefile.in"].cls == "generated"
    assert verdicts["po/hello.pot"].cls == "generated"
    assert verdicts["backdoor.sh"].cls == "unexpected"


def test_a_policy_can_declare_its_own_generated_files(tmp_path, macros):
    text = (Path(__file__).parents[1] / "src/bundlecheck/policies/convirt.toml").read_text()
    policy_file = tmp_path / "own.toml"
    policy_file.write_text(text + '\n[generated]\npatterns = ["ChangeLog"]\nbinary = ["po/*.gmo"]\n')
    repo = make_repo(tmp_path / "repo", FILES)
    tarball = tarball_of(repo, "v1.0", tmp_path / "p.tar.gz",
                         add={"ChangeLog": "2026 release\n", "configure": "#!/bin/sh\n",
                              "po/de.gmo": b"\0\1"})
    proof = compare(tarball, repo, macros=macros, policy=load_policy(policy_file))
    assert classes(proof) | {} == {**dict.fromkeys(FILES, "identical"), "ChangeLog": "generated",
                                   "configure": "unexpected", "po/de.gmo": "generated"}


def test_case_and_normalisation_collisions_are_named(tmp_path, macros):
    repo = make_repo(tmp_path / "repo", FILES)
    tarball = tarball_of(repo, "v1.0", tmp_path / "p.tar.gz",
                         add={"readme": "other\n", "caf\u00e9.txt": "a\n", "cafe\u0301.txt": "b\n"})
    proof = compare(tarball, repo, macros=macros)
    assert ["README", "readme"] in proof.collisions
    assert sorted(["caf\u00e9.txt", "cafe\u0301.txt"]) in proof.collisions
    assert not proof.passed
    assert collisions(["a", "b"]) == []


def test_a_lightweight_tag_and_a_missing_tag(tmp_path, macros):
    repo = make_repo(tmp_path / "repo", FILES, annotated=False)
    tarball = tarball_of(repo, "v1.0", tmp_path / "p.tar.gz")
    proof = compare(tarball, repo, macros=macros)
    assert proof.tag.signature.state == "lightweight" and proof.tag.tag_object is None
    with pytest.raises(SourceError, match=r"has no tag 'v9\.9': push the tag"):
        compare(tarball, repo, tag="v9.9", macros=macros)
    with pytest.raises(SourceError, match="not a valid git tag name"):
        compare(tarball, repo, tag="v1..0", macros=macros)
    with pytest.raises(SourceError, match="no repository at"):
        compare(tarball, tmp_path / "nowhere", macros=macros)
    with pytest.raises(SourceError, match="is not an http"):
        compare(tarball, repo, macros=macros, allow_local=False)


def test_a_tarball_without_one_top_directory_is_refused(tmp_path, macros):
    repo = make_repo(tmp_path / "repo", FILES)
    flat = tmp_path / "flat.tar"
    subprocess.run(["git", "archive", "--format=tar", "-o", str(flat), "v1.0"], cwd=repo, check=True)
    with pytest.raises(SourceError, match="top-level entries"):
        compare(flat, repo, macros=macros)
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball at all" * 100)
    with pytest.raises(SourceError, match="is not a tar archive"):
        compare(junk, repo, macros=macros)


def _gpg(home: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["gpg", "--homedir", str(home), "--batch", *args], check=True,
                          capture_output=True, **kw)


def test_a_signed_tag_names_its_signer_or_an_unknown_key(tmp_path, macros):
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    _gpg(home, "--passphrase", "", "--quick-gen-key", "Alice Upstream <alice@example.org>", "ed25519",
         "sign", "never")
    fingerprint = _gpg(home, "--with-colons", "--list-keys").stdout.decode().split("fpr:::::::::")[1][:40]
    repo = make_repo(tmp_path / "repo", FILES, tag="v0")
    git(repo, "tag", "-s", "-u", fingerprint, "-m", "release v1.0", "v1.0", env={"GNUPGHOME": str(home)})
    keys = _gpg(home, "--armor", "--export").stdout
    tarball = tarball_of(repo, "v1.0", tmp_path / "p.tar.gz")
    proof = compare(tarball, repo, macros=macros, keys=keys)
    assert proof.tag.signature.state == "signed"
    assert proof.tag.signature.fingerprint == fingerprint
    assert "Alice Upstream <alice@example.org>" in proof.summary()
    other = tmp_path / "other"
    other.mkdir(mode=0o700)
    _gpg(other, "--passphrase", "", "--quick-gen-key", "Mallory <m@example.org>", "ed25519", "sign", "never")
    proof = compare(tarball, repo, macros=macros, keys=_gpg(other, "--armor", "--export").stdout)
    assert proof.tag.signature.state == "unknown-key"
    assert proof.passed  # who signed is said, not judged, unless the signature is bad
    assert signature_from_status("[GNUPG:] BADSIG 1234 Alice\n").state == "bad"


def test_the_cli_prints_json_and_exits_1_on_a_failing_proof(tmp_path, capsys):
    repo = make_repo(tmp_path / "repo", FILES)
    good = tarball_of(repo, "v1.0", tmp_path / "good.tar.gz", add={"configure": "#!/bin/sh\n"})
    assert main(["source", "compare", str(good), "--repo", str(repo), "--tag", "v1.0",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is True
    assert data["counts"]["generated"] == 1 and data["counts"]["identical"] == 3
    configure = {"path": "configure", "class": "generated", "detail": "matches [generated] patterns"}
    assert configure in data["files"]
    assert data["tag"]["commit"] == git(repo, "rev-parse", "v1.0^{commit}").strip()
    bad = tarball_of(repo, "v1.0", tmp_path / "bad.tar.gz", add={"extra.sh": "#!/bin/sh\n"})
    assert main(["source", "compare", str(bad), "--repo", str(repo), "--tag", "v1.0"]) == 1
    out = capsys.readouterr().out
    assert "unexpected         extra.sh" in out and out.rstrip().splitlines()[-1].startswith("FAIL: ")
    assert main(["source", "compare", str(bad), "--repo", str(repo), "--tag", "nope"]) == 2
    assert "has no tag 'nope'" in capsys.readouterr().err


AUTOTOOLS = ("autoreconf", "autopoint", "make", "cc")


@pytest.mark.skipif(any(shutil.which(t) is None for t in AUTOTOOLS),
                    reason="autoconf, automake, autopoint, make and a C compiler are needed")
def test_a_clean_autotools_release_has_no_false_positive(tmp_path, macros):
    """configure, Makefile.in, aclocal.m4 and gettext's macros made by the real tools: all accounted for."""
    files = {
        "configure.ac": "AC_INIT([hello], [1.0], [rm@example.org])\nAC_CONFIG_MACRO_DIR([m4])\n"
                        "AC_CONFIG_AUX_DIR([build-aux])\nAM_INIT_AUTOMAKE([foreign])\nAC_PROG_CC\n"
                        "AC_CONFIG_HEADERS([config.h])\nPKG_PROG_PKG_CONFIG\nAM_GNU_GETTEXT([external])\n"
                        "AM_GNU_GETTEXT_VERSION([0.21])\nAC_CONFIG_FILES([Makefile po/Makefile.in])\n"
                        "AC_OUTPUT\n",
        "Makefile.am": "SUBDIRS = po\nACLOCAL_AMFLAGS = -I m4\nbin_PROGRAMS = hello\n"
                       "hello_SOURCES = hello.c\n",
        "hello.c": "#include <config.h>\n" + C_FILE,
        "po/POTFILES.in": "hello.c\n", "po/LINGUAS": "",
        "po/Makevars": "DOMAIN = $(PACKAGE)\nsubdir = po\ntop_builddir = ..\nXGETTEXT_OPTIONS = --keyword=_\n"
                       "COPYRIGHT_HOLDER = Upstream\nMSGID_BUGS_ADDRESS = rm@example.org\n",
        "m4/.gitignore": "*.m4\n", ".gitignore": "configure\nMakefile.in\n",
    }
    repo = make_repo(tmp_path / "hello", files)
    env = {**os.environ, "LC_ALL": "C"}
    for cmd in (["autoreconf", "-i"], ["./configure", "--quiet"], ["make", "dist"]):
        subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True)
    proof = compare(repo / "hello-1.0.tar.gz", repo, macros=macros)
    found = classes(proof)
    counts = proof.counts
    assert proof.passed, [f for f in proof.files if f.cls not in ("identical", "generated", "only-in-tag")]
    assert {c for c in found.values()} <= {"identical", "generated", "only-in-tag"}
    for generated in ("configure", "Makefile.in", "aclocal.m4", "config.h.in", "build-aux/install-sh",
                      "po/Makefile.in.in", "m4/gettext.m4"):
        assert found[generated] == "generated", generated
    assert found["hello.c"] == found["configure.ac"] == found["Makefile.am"] == "identical"
    aclocal = next(f for f in proof.files if f.path == "aclocal.m4")
    assert "each a known copy" in aclocal.detail and "pkg.m4" in aclocal.detail  # its sections, judged
    macro_copies = [f for f in proof.files if f.path.startswith("m4/") and "the same text as" in f.detail]
    assert len(macro_copies) >= 5
    assert counts["generated"] >= 20 and counts["unexpected"] == counts["differs"] == 0


def test_a_repository_that_refuses_or_never_answers_is_a_sentence(tmp_path, macros):
    import socket
    import threading
    import time

    repo = make_repo(tmp_path / "repo", FILES)
    tarball = tarball_of(repo, "v1.0", tmp_path / "p.tar.gz")
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    with pytest.raises(SourceError, match=r"could not fetch tag 'v1\.0' from http://127\.0\.0\.1"):
        compare(tarball, f"http://127.0.0.1:{port}/repo.git", macros=macros)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    held = []
    threading.Thread(target=lambda: held.append(silent.accept()), daemon=True).start()
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"did not send tag 'v1\.0' within 2 s"):
        compare(tarball, f"http://127.0.0.1:{silent.getsockname()[1]}/repo.git", macros=macros, timeout=2)
    assert time.monotonic() - started < 10
    silent.close()


def test_a_tree_larger_than_the_archive_limits_is_refused_and_said_so(tmp_path, macros):
    text = (Path(__file__).parents[1] / "src/bundlecheck/policies/convirt.toml").read_text()
    policy_file = tmp_path / "small.toml"
    policy_file.write_text(text.replace("[layout]", "[limits]\nmax_total_size = 20000\n\n[layout]", 1))
    repo = make_repo(tmp_path / "repo", {**FILES, "big.txt": "x" * 50_000})
    tarball = tarball_of(repo, "v1.0", tmp_path / "p.tar.gz")
    with pytest.raises(SourceError, match=r"the tree of tag 'v1\.0' cannot be read: .*more than 20000 bytes"):
        compare(tarball, repo, macros=macros, policy=load_policy(policy_file))
