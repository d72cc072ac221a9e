"""`make up-scaled`: the cluster's shape on one machine, under honcho.

nginx (the same front config as the Kubernetes Deployment) in front of two gunicorn processes
on different ports, two Celery workers (each on both queues), one beat and the CDN health
poller, all against one PostgreSQL (DATABASE_URL) and one Redis (REDIS_URL). Ports are picked
free at start unless given (PORT for nginx, WEB_PORTS="a,b"); the URL is printed.

Writes its nginx config and Procfile under $STREAMSITE_VAR_DIR/up-scaled/ and execs honcho, so
Ctrl-C (or SIGTERM to this process) stops every process the way `make up` does.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRONT = ROOT / "deploy" / "k8s" / "base" / "nginx" / "front.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render_front(*, listen: int, web_ports: list[int], static_root: Path) -> str:
    """The Kubernetes front config with its four marked lines made local: loopback listen,
    one upstream server per web process, the collected static files, and the scheme (nginx
    is the edge here; behind an ingress it forwards the ingress's X-Forwarded-Proto)."""
    out = []
    for line in FRONT.read_text().splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        if line.rstrip().endswith("# @upstream"):
            out += [
                f"{indent}server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in web_ports
            ]
        elif line.rstrip().endswith("# @listen"):
            out.append(f"{indent}listen 127.0.0.1:{listen};")
        elif line.rstrip().endswith("# @static"):
            out.append(f"{indent}alias {static_root}/;")
        elif line.rstrip().endswith("# @proto"):
            out.append(f"{indent}proxy_set_header X-Forwarded-Proto $scheme;")
        else:
            out.append(line)
    if os.geteuid() == 0:
        # Started as root, nginx would drop its workers to `nobody`, who cannot read files
        # under a private directory (static, pytest's tmp): keep the invoking user locally.
        # The Kubernetes front runs unprivileged and never reads this line.
        out.insert(0, "user root;")
    return "\n".join(out) + "\n"


def procfile(*, nginx_conf: Path, web_ports: list[int], var_dir: Path) -> str:
    gunicorn = (
        "gunicorn streamsite.wsgi --config python:streamsite.gunicorn_conf"
        " --workers ${WEB_CONCURRENCY:-2} --timeout 60 --graceful-timeout 20"
        " --no-control-socket --access-logfile -"
    )
    worker = (
        "celery -A streamsite worker --queues default,batch,long,transcode --concurrency"
        " ${CELERY_CONCURRENCY:-1} --loglevel INFO --without-gossip --without-mingle"
    )
    # A web process that dies is started again, as Kubernetes restarts a pod; honcho alone would
    # stop everything when one process exits.
    lines = [
        f"web{i}: while :; do {gunicorn} --bind 127.0.0.1:{port}; sleep 2; done"
        for i, port in enumerate(web_ports, 1)
    ]
    lines += [f"worker{i}: {worker} --hostname worker{i}@%h" for i in (1, 2)]
    lines += [
        f"beat: celery -A streamsite beat --loglevel INFO --schedule {var_dir}/celerybeat-schedule",
        "cdnhealth: python manage.py cdn_health_poller",
        f"nginx: nginx -c {nginx_conf} -g 'daemon off;'",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            sys.exit(f"{name} must be set: the scaled-out processes share one database and Redis")
    if not shutil.which("nginx"):
        sys.exit("nginx is required (apt-get install nginx)")
    var_dir = Path(os.environ.get("STREAMSITE_VAR_DIR") or ROOT / "var")
    run_dir = var_dir / "up-scaled"
    run_dir.mkdir(parents=True, exist_ok=True)
    listen = int(os.environ.get("PORT") or free_port())
    given = os.environ.get("WEB_PORTS", "")
    web_ports = [int(p) for p in given.split(",")] if given else [free_port(), free_port()]
    static_root = Path(os.environ.get("STATIC_ROOT") or var_dir / "static")

    nginx_conf = run_dir / "nginx.conf"
    nginx_conf.write_text(render_front(listen=listen, web_ports=web_ports, static_root=static_root))
    (run_dir / "Procfile").write_text(
        procfile(nginx_conf=nginx_conf, web_ports=web_ports, var_dir=var_dir)
    )
    print(f"up-scaled: http://127.0.0.1:{listen}/ -> web on {web_ports}", flush=True)
    honcho = shutil.which("honcho") or "honcho"
    os.execvp(honcho, [honcho, "start", "-f", str(run_dir / "Procfile"), "-d", str(ROOT)])  # noqa: S606


if __name__ == "__main__":
    main()
