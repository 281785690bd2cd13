"""The front server: its rendered configuration, and downloads handed to it."""

import io
import shutil
import subprocess

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import storages

from deploy.nginx import render
from portal.sendfile import accel_path

NGINX = shutil.which("nginx", path="/usr/sbin:/usr/bin")


def test_public_page_policy_is_the_portals():
    assert render.PUBLIC_PAGE_CSP == django_settings.PUBLIC_PAGE_CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_rendered_configuration_is_valid(backend, tmp_path):
    env = {
        "STORAGE_BACKEND": backend,
        "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "PORTAL_DATA_DIR": str(tmp_path / "data"),
        "NGINX_RUN_DIR": str(tmp_path),
        "NGINX_LISTEN": "127.0.0.1:1",
        "UPLOAD_MAX_BYTES": "1000",
    }
    text = render.render(env)
    assert "${" not in text and "\n#if " not in text and "\n#end" not in text
    assert "proxy_request_buffering off;" in text
    assert f"client_max_body_size {1000 + render.ENVELOPE_BYTES};" in text
    assert ("/_s3/" in text) == (backend == "s3")
    assert ("/_stored/uploads/" in text) == (backend == "local")
    if NGINX is None:
        pytest.skip("nginx is not installed")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    result = subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-p", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_local_files_go_through_an_internal_location(settings):
    assert accel_path(storages["public"], "convirt/2.0/convirt-2.0.tar.gz") == (
        "/_stored/public/convirt/2.0/convirt-2.0.tar.gz"
    )


@pytest.mark.django_db
def test_staged_package_is_sent_by_nginx_when_it_is_there(settings, client, release, ubuntu):
    from releases.artifacts import artifact_create
    from releases.models import Artifact, PackageLink

    staged = artifact_create(
        kind=Artifact.Kind.STAGED_PACKAGE,
        content=io.BytesIO(b"deb"),
        original_name="convirt_2.0.deb",
    )
    release.state = "released"
    release.save()
    link = PackageLink.objects.create(release=release, distro=ubuntu, url="", staged=staged)
    from publishing import page

    name = page.public_filename(staged.original_name, f"package-{link.pk}")
    url = f"/downloads/{release.project.slug}/2.0/packages/{link.pk}/{name}"
    settings.FRONT_SERVER = ""
    streamed = client.get(url)
    assert streamed.status_code == 200 and b"".join(streamed.streaming_content) == b"deb"
    settings.FRONT_SERVER = "nginx"
    handed = client.get(url)
    assert handed.status_code == 200 and handed.content == b""
    assert handed["X-Accel-Redirect"] == f"/_stored/uploads/{staged.key}"
    assert handed["Content-Disposition"].startswith("attachment")


def test_s3_private_files_are_signed_for_nginx(s3_storages):
    storage = storages["uploads"]
    storage.save("submission/abc", io.BytesIO(b"x"))
    path = accel_path(storage, "submission/abc")
    assert path.startswith(f"/_s3/{s3_storages['uploads']}/submission/abc?")
    assert "X-Amz-Signature=" in path
    assert accel_path(storages["public"], "p/i.html") == f"/_s3/{s3_storages['public']}/p/i.html"


def test_local_page_and_json_come_from_the_public_folder(tmp_path):
    if NGINX is None:
        pytest.skip("nginx is not installed")
    import os
    import urllib.error
    import urllib.request

    from tests.processes import Process, free_port, port_answers, wait_for

    public = tmp_path / "data" / "public" / "convirt"
    public.mkdir(parents=True)
    (public / "index.html").write_text("<h1>ConVirt</h1>")
    (public / "downloads.json").write_text("{}")
    port = free_port()
    text = render.render(
        {
            "PORTAL_DATA_DIR": str(tmp_path / "data"),
            "NGINX_RUN_DIR": str(tmp_path),
            "NGINX_LISTEN": f"127.0.0.1:{port}",
        }
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(("user root;\n" if os.geteuid() == 0 else "") + text)
    os.chmod(tmp_path, 0o755)  # noqa: S103 - nginx's workers read the folder
    nginx = Process(
        "nginx", [NGINX, "-e", "stderr", "-c", conf], dict(os.environ), tmp_path / "log"
    )
    try:
        wait_for(lambda: nginx.check_alive() or port_answers(port), 20, what="nginx")
        base = f"http://127.0.0.1:{port}/downloads/convirt/"
        with urllib.request.urlopen(base, timeout=5) as page:  # noqa: S310 - loopback
            assert page.read() == b"<h1>ConVirt</h1>"
            assert page.headers["Content-Type"] == "text/html; charset=utf-8"
            assert page.headers["Content-Security-Policy"] == render.PUBLIC_PAGE_CSP
        with urllib.request.urlopen(base + "downloads.json", timeout=5) as data:  # noqa: S310
            assert data.read() == b"{}"
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(base.replace("convirt", "nope"), timeout=5)  # noqa: S310
        assert missing.value.code == 404
    finally:
        nginx.stop()
