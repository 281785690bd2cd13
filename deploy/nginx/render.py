#!/usr/bin/env python3
"""Render the front server's nginx.conf from the environment, to stdout or a file.

    python deploy/nginx/render.py > /tmp/nginx/nginx.conf && nginx -c /tmp/nginx/nginx.conf

Reads the portal's own variables (STORAGE_BACKEND, PORTAL_DATA_DIR,
S3_ENDPOINT_URL, S3_PUBLIC_BUCKET, UPLOAD_MAX_BYTES) with the portal's
defaults, and the NGINX_* ones (NGINX_REAL_IP_FROM, NGINX_PROXY_BIND among them) (README, "Configuration"). Standard library
only: it runs where Django is not set up.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
TEMPLATE = HERE / "portal.conf.template"

# The same policy as PUBLIC_PAGE_CONTENT_SECURITY_POLICY in portal/settings.py
# (tests/deploy/ checks they agree).
PUBLIC_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# What the multipart envelope and the form's other fields may add to a file.
ENVELOPE_BYTES = 1024 * 1024

S3_PROXY = """\
      proxy_set_header Host {host};
      proxy_set_header Authorization "";
      proxy_set_header Cookie "";
      proxy_hide_header Set-Cookie;
      proxy_hide_header Cache-Control;
      proxy_hide_header x-amz-request-id;
      proxy_hide_header x-amz-id-2;
      proxy_hide_header x-amzn-requestid;
      proxy_hide_header x-amz-sdk-checksum-algorithm;
      proxy_hide_header x-amz-content-sha256;
      proxy_hide_header x-amz-checksum-crc32;
      proxy_intercept_errors on;
      error_page 403 404 =404 /_not_found;
      proxy_connect_timeout 5s;
      proxy_read_timeout 60s;"""


def _addresses(name: str, value: str, networks: bool) -> list[str]:
    found = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            ipaddress.ip_network(item, strict=False) if networks else ipaddress.ip_address(item)
        except ValueError:
            kind = "an IP address or network" if networks else "an IP address"
            raise SystemExit(f"{name}: {item!r} is not {kind}") from None
        found.append(item)
    return found


def _real_ip(value: str) -> str:
    """NGINX_REAL_IP_FROM: the proxies in front of nginx (a load balancer) whose
    X-Forwarded-For nginx believes; $remote_addr becomes the client's then."""
    trusted = _addresses("NGINX_REAL_IP_FROM", value, networks=True)
    if not trusted:
        return ""
    lines = [f"    set_real_ip_from {item};" for item in trusted]
    lines += ["    real_ip_header X-Forwarded-For;", "    real_ip_recursive on;"]
    return "\n".join(lines)


def _proxy_bind(value: str) -> str:
    """NGINX_PROXY_BIND: the address nginx connects to gunicorn from, when the
    host gives it several (the native stack's loopback alias); the portal's
    TRUSTED_PROXIES names it."""
    bound = _addresses("NGINX_PROXY_BIND", value, networks=False)
    if len(bound) > 1:
        raise SystemExit("NGINX_PROXY_BIND: one address, not a list")
    return f"      proxy_bind {bound[0]};" if bound else ""


def values(environ: dict[str, str] | None = None) -> dict[str, str]:
    e = os.environ if environ is None else environ

    def get(name: str, default: str) -> str:
        return (e.get(name) or "").strip() or default

    data_dir = Path(get("PORTAL_DATA_DIR", str(REPO / "var"))).resolve()
    backend = get("STORAGE_BACKEND", "local")
    if backend not in {"local", "s3"}:
        raise SystemExit(f"STORAGE_BACKEND must be local or s3, not {backend!r}")
    found = {
        "STORAGE_BACKEND": backend,
        "NGINX_LISTEN": get("NGINX_LISTEN", "8080"),
        "NGINX_UPSTREAM": get("NGINX_UPSTREAM", "127.0.0.1:8000"),
        "NGINX_RUN_DIR": get("NGINX_RUN_DIR", "/tmp/nginx"),
        "NGINX_ACCESS_LOG": get("NGINX_ACCESS_LOG", "off"),
        "NGINX_MIME_TYPES": get("NGINX_MIME_TYPES", "/etc/nginx/mime.types"),
        "NGINX_STATIC_ROOT": get("NGINX_STATIC_ROOT", str(data_dir / "staticfiles")),
        "NGINX_PUBLIC_DIR": str(data_dir / "public"),
        "NGINX_UPLOADS_DIR": str(data_dir / "uploads"),
        "NGINX_CLIENT_MAX_BODY_SIZE": str(
            int(get("UPLOAD_MAX_BYTES", str(2 * 1024**3))) + ENVELOPE_BYTES
        ),
        "PUBLIC_PAGE_CSP": PUBLIC_PAGE_CSP,
        "S3_PUBLIC_BUCKET": get("S3_PUBLIC_BUCKET", "portal-public"),
        "NGINX_REAL_IP": _real_ip(get("NGINX_REAL_IP_FROM", "")),
        "NGINX_PROXY_BIND": _proxy_bind(get("NGINX_PROXY_BIND", "")),
        "NGINX_S3_HOST": "",
        "NGINX_S3_PROXY": "",
    }
    if backend == "s3":
        endpoint = get("S3_ENDPOINT_URL", "")
        if not endpoint.startswith("http://"):
            raise SystemExit(
                "the front server proxies S3 over plain HTTP inside the stack: "
                f"S3_ENDPOINT_URL must be http://host:port, not {endpoint!r}"
            )
        parts = urlsplit(endpoint)
        found["NGINX_S3_HOST"] = f"{parts.hostname}:{parts.port or 80}"
        found["NGINX_S3_PROXY"] = S3_PROXY.format(host=parts.netloc)
    return found


def render(environ: dict[str, str] | None = None) -> str:
    found = values(environ)
    backend = found["STORAGE_BACKEND"]
    kept, keep = [], True
    for line in TEMPLATE.read_text().splitlines():
        if line.startswith("#if "):
            keep = line.split()[1] == backend
            continue
        if line.startswith("#end"):
            keep = True
            continue
        if keep:
            kept.append(line)
    text = "\n".join(kept) + "\n"

    def substitute(match: re.Match) -> str:
        return found[match.group(1)]

    text = re.sub(r"\$\{([A-Z0-9_]+)\}", substitute, text)
    if backend == "s3":
        # The target of error_page above: nginx's own plain 404.
        text = text.replace(
            "    # Files the portal has authorised",
            "    location = /_not_found { internal; return 404; }\n\n"
            "    # Files the portal has authorised",
            1,
        )
    return text


def main(argv: list[str]) -> int:
    text = render()
    if len(argv) > 1:
        Path(argv[1]).write_text(text)
    else:
        sys.stdout.write(text)
    run_dir = Path(values()["NGINX_RUN_DIR"])
    run_dir.mkdir(parents=True, exist_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
