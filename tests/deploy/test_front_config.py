"""The nginx front: the cluster's config (deploy/k8s/base/nginx/front.conf) made local by
deploy/up_scaled.py passes `nginx -t`, with exactly its four marked lines changed."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRONT = ROOT / "deploy" / "k8s" / "base" / "nginx" / "front.conf"


def _up_scaled():
    spec = importlib.util.spec_from_file_location("up_scaled", ROOT / "deploy" / "up_scaled.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_local_front_differs_from_the_cluster_front_only_on_its_marked_lines(tmp_path):
    text = _up_scaled().render_front(
        listen=18080, web_ports=[18001, 18002], static_root=tmp_path / "static"
    )
    cluster = [line.strip() for line in FRONT.read_text().splitlines()]
    local = [line.strip() for line in text.splitlines()]
    assert [line for line in local if line not in cluster and line != "user root;"] == [
        "server 127.0.0.1:18001 max_fails=1 fail_timeout=10s;",
        "server 127.0.0.1:18002 max_fails=1 fail_timeout=10s;",
        "listen 127.0.0.1:18080;",
        f"alias {tmp_path / 'static'}/;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
    ]
    assert [line for line in cluster if line not in local] == [
        "server web:8000 max_fails=1 fail_timeout=10s;  # @upstream",
        "listen 8080;  # @listen",
        "alias /srv/static/;  # @static",
        "proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;  # @proto",
    ]


@pytest.mark.needs_nginx
def test_the_rendered_front_passes_nginx_t(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is required (apt-get install nginx; see .ci/packages.sh)")
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        _up_scaled().render_front(listen=18080, web_ports=[18001, 18002], static_root=tmp_path)
    )
    checked = subprocess.run(
        [nginx, "-t", "-c", str(conf)], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr
