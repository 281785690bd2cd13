"""Nothing touches the disk, and pathological input is cut off by the limits, fast."""

from __future__ import annotations

import builtins
import io
import os
import tarfile
import time

import pytest
from builders import E, d, good_package, gz, tar_bytes
from test_archive import ARCHIVE_ROWS

import bundlecheck
from bundlecheck import cli


def _gzip_bomb(gigabytes: int) -> bytes:
    """A tar header for a huge member, then zeros as many small gzip members (legal gzip)."""
    info = tarfile.TarInfo("convirt-2.0/disk.img")
    info.size = gigabytes << 30
    header = info.tobuf(tarfile.GNU_FORMAT)
    zeros = gz(bytes(1 << 20))  # ~1 KiB of gzip per MiB of zeros
    return gz(header) + zeros * (gigabytes << 10)


def test_decompression_bomb_is_cut_off_quickly(policy):
    bomb = _gzip_bomb(4)  # 4 GiB of zeros in ~4 MB
    started = time.monotonic()
    report = bundlecheck.verify(io.BytesIO(bomb), distro="ubuntu", policy=policy)
    elapsed = time.monotonic() - started
    assert report.verdict == "fail"
    assert [f.check for f in report.findings] == ["archive-too-large"]
    assert report.stats["bytes_read"] < len(bomb)  # stopped long before the end
    assert elapsed < 5, f"took {elapsed:.1f}s"


def test_long_name_bomb_is_refused_before_it_is_read(policy):
    info = tarfile.TarInfo("x")
    info.type, info.size = tarfile.GNUTYPE_LONGNAME, 1 << 40  # a 1 TiB "long name"
    data = info.tobuf(tarfile.GNU_FORMAT) + bytes(4096)
    report = bundlecheck.verify(io.BytesIO(data), distro="ubuntu", policy=policy)
    assert [f.check for f in report.findings] == ["archive-too-large"]


@pytest.fixture
def no_writes(tmp_path, monkeypatch):
    """cwd in an empty tmp dir; any open() for writing anywhere fails the test."""
    monkeypatch.chdir(tmp_path)
    writes: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            writes.append(f"open({file!r}, {mode!r})")
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            writes.append(f"os.open({path!r})")
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)
    yield writes
    assert list(tmp_path.iterdir()) == [], "something was written to the working directory"
    assert writes == []


def test_verifying_bad_and_good_archives_writes_nothing(no_writes, policy):
    for row in ARCHIVE_ROWS:
        data = row[1]() if callable(row[1]) else row[1]
        bundlecheck.verify(io.BytesIO(data), distro="ubuntu", policy=policy, filename=row[2])
    bundlecheck.verify(io.BytesIO(gz(tar_bytes(good_package()))), distro="ubuntu", policy=policy)
    bundlecheck.build_manifest(io.BytesIO(gz(tar_bytes(good_package()))))


def test_unsafe_members_are_not_created_anywhere(tmp_path, monkeypatch, policy):
    monkeypatch.chdir(tmp_path)
    data = tar_bytes([d("convirt-2.0"), E("../escaped", b"x"), E("/tmp/bundlecheck-abs", b"x"),
                      E("convirt-2.0/l", type=tarfile.SYMTYPE, linkname="/etc")])
    bundlecheck.verify(io.BytesIO(data), distro="ubuntu", policy=policy)
    assert not (tmp_path.parent / "escaped").exists()
    assert not os.path.exists("/tmp/bundlecheck-abs")
    assert list(tmp_path.iterdir()) == []


def test_cli_check_writes_nothing(tmp_path, monkeypatch, capsys):
    src = tmp_path / "in"
    src.mkdir()
    archive = src / "bundle.tar.gz"
    archive.write_bytes(gz(tar_bytes([d("convirt-2.0"), E("../x", b"x")])))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    before = sorted(p.name for p in src.iterdir())
    assert cli.main(["check", str(archive), "--distro", "ubuntu", "--format", "json"]) == 1
    assert sorted(p.name for p in src.iterdir()) == before
    assert list(work.iterdir()) == []
