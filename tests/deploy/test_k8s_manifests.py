"""deploy/k8s: every overlay renders (kubectl kustomize) and validates offline against the
official schemas of the newest Kubernetes minor kubernetes-validate ships; the workloads have
the shape the operations docs promise; and the ConfigMap/Secret names are exactly the names
the application reads."""

from __future__ import annotations

import re
from functools import cache

import kubernetes_validate
import pytest

from tests.deploy.manifests import (
    OVERLAYS,
    ROOT,
    config_map,
    documented_names,
    find,
    names_read_by_the_app,
    names_read_by_the_entrypoint,
    render,
)

# Every test here renders the overlays with kubectl's built-in Kustomize (a program).
pytestmark = pytest.mark.needs_process

# Custom resources: no official schema; checked by hand below (KEDA overlay only).
CRDS = {("keda.sh/v1alpha1", "ScaledObject"), ("keda.sh/v1alpha1", "TriggerAuthentication")}
APP_WORKLOADS = ["web", "worker-default", "worker-transcode", "beat", "cdnhealth"]
# Names whose value is a credential or may carry one (a password inside a URL).
SECRET_NAME = re.compile(
    r"SECRET|PASSWORD|TOKEN$|SIGNING_KEY|ACCESS_KEY|^(DATABASE|REDIS|EMAIL|CDN_REDIS)_URL$"
    r"|^CELERY_(BROKER_URL|RESULT_BACKEND)$"
)


@cache
def rendered(overlay: str):
    return render(overlay)


def _pod_spec(doc):
    if doc["kind"] == "Job":
        return doc["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"]


def _secret_keys(docs) -> set[str]:
    (secret,) = [d for d in docs if d["kind"] == "Secret"]
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates_against_the_official_schemas(overlay):
    version = kubernetes_validate.latest_version()
    docs = rendered(overlay)
    custom = []
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CRDS:
            custom.append(doc["kind"])
            continue
        # strict: an unknown or misspelt field is an error, not silently dropped.
        kubernetes_validate.validate(doc, version, strict=True)
    assert sorted(custom) == (
        ["ScaledObject", "TriggerAuthentication"] if overlay.endswith("keda") else []
    )
    assert version.startswith("1.3")  # the current minor at the time of writing, or newer


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_role_runs_from_the_one_image_non_root_and_read_only(overlay):
    docs = rendered(overlay)
    roles = {}
    for name in [*APP_WORKLOADS, "nginx"]:
        deployment = find(docs, "Deployment", name)
        pod = _pod_spec(deployment)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for container in pod.get("initContainers", []) + pod["containers"]:
            context = container["securityContext"]
            mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
            assert context["readOnlyRootFilesystem"] is True, (name, container["name"])
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"]["memory"]
            assert container["resources"]["limits"]["memory"]
            if container in pod["containers"]:
                assert "/tmp" in mounts  # the only writable scratch on a read-only root
        if name != "nginx":
            (container,) = pod["containers"]
            roles[name] = container["args"]
    job = find(docs, "Job", "migrate")
    roles["migrate"] = _pod_spec(job)["containers"][0]["args"]
    assert roles == {
        "web": ["web"],
        "worker-default": ["worker", "default,batch"],
        "worker-transcode": ["worker", "transcode,long"],
        "beat": ["beat"],
        "cdnhealth": ["cdnhealth"],
        "migrate": ["migrate"],
    }
    images = {
        _pod_spec(find(docs, "Deployment", n))["containers"][0]["image"] for n in APP_WORKLOADS
    }
    assert len(images) == 1  # one image, every role
    nginx_init = _pod_spec(find(docs, "Deployment", "nginx"))["initContainers"][0]
    assert nginx_init["image"] in images  # static files of the very release it fronts


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_beat_and_the_poller_are_single_and_never_overlap(overlay):
    docs = rendered(overlay)
    for name in ["beat", "cdnhealth"]:
        deployment = find(docs, "Deployment", name)
        assert deployment["spec"]["replicas"] == 1
        assert deployment["spec"]["strategy"] == {"type": "Recreate"}
        assert not [
            d
            for d in docs
            if d["kind"] == "HorizontalPodAutoscaler"
            and d["spec"]["scaleTargetRef"]["name"] == name
        ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_web_probes_scaling_and_disruption_budgets(overlay):
    docs = rendered(overlay)
    web = _pod_spec(find(docs, "Deployment", "web"))["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    allowed = config_map(docs)["ALLOWED_HOSTS"].split(",")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        (header,) = web[probe]["httpGet"]["httpHeaders"]
        assert header["name"] == "Host" and header["value"] in allowed
    grace = _pod_spec(find(docs, "Deployment", "web"))["terminationGracePeriodSeconds"]
    assert grace > 20 + 5  # gunicorn's graceful timeout plus the preStop pause

    scaled = {
        d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"
    }
    expected = {"web", "nginx", "worker-default", "worker-transcode"}
    if overlay.endswith("keda"):
        expected.discard("worker-transcode")  # the ScaledObject owns it (one scaler only)
    assert scaled == expected
    budgets = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "PodDisruptionBudget"}
    assert set(budgets) == {"web", "nginx", "worker-default", "worker-transcode"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_metrics_are_scraped_by_annotation_on_a_port_no_service_exposes(overlay):
    docs = rendered(overlay)
    port = config_map(docs)["METRICS_PORT"]
    for name in ["web", "worker-default", "worker-transcode"]:
        template = find(docs, "Deployment", name)["spec"]["template"]
        annotations = template["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == port
        ports = {p["name"]: p["containerPort"] for p in template["spec"]["containers"][0]["ports"]}
        assert ports["metrics"] == int(port)
    for service in [d for d in docs if d["kind"] == "Service"]:
        assert int(port) not in [p["port"] for p in service["spec"]["ports"]]
        assert "metrics" not in [p.get("targetPort") for p in service["spec"]["ports"]]


def test_env_names_are_exactly_what_the_app_reads():
    docs = rendered("base")
    configured = set(config_map(docs))
    secret = _secret_keys(docs)
    read = names_read_by_the_app()
    process = names_read_by_the_entrypoint()
    assert "SECRET_KEY" in read and "CDN_SIGNING_SECRETS" in read  # the reader was found

    # No typo: every name given to the pods is one something reads.
    assert configured - read - process == set()
    assert secret - read == set()
    # Nothing forgotten: every name the application reads is set (maybe to "" = default).
    assert read - configured - secret == set()
    # Credentials only in the Secret.
    sensitive = {name for name in read if SECRET_NAME.search(name)}
    assert sensitive - secret == set()
    assert configured & sensitive == set()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "STRIPE_WEBHOOK_SECRET"} <= secret


def test_every_documented_setting_has_its_place_in_the_manifests():
    docs = rendered("base")
    given = set(config_map(docs)) | _secret_keys(docs)
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            for container in _pod_spec(doc)["containers"]:
                given |= {e["name"] for e in container.get("env", [])}
    documented = documented_names()
    assert len(documented) > 40  # the docs were read
    # The docs also quote values (`INFO`) and Django settings: keep the variables.
    variables = documented & (names_read_by_the_app() | names_read_by_the_entrypoint())
    assert {"BIND", "WEB_CONCURRENCY", "SECRET_KEY", "S3_BUCKET"} <= variables
    assert variables - given == set()
    secret = _secret_keys(docs)
    assert {n for n in variables if SECRET_NAME.search(n)} - secret == set()


def test_production_never_carries_secret_values_and_dev_values_pass_production_rules():
    production = rendered("overlays/production")
    assert [d for d in production if d["kind"] == "Secret"] == []
    assert all(d["metadata"].get("namespace") == "streamsite" for d in production)
    ingress = find(production, "Ingress", "streamsite")
    assert ingress["spec"]["tls"][0]["secretName"] == "streamsite-tls"

    base = [d for d in rendered("base") if d["kind"] == "Secret"][0]
    assert set(base["stringData"].values()) == {""}  # names only in git

    dev = [d for d in rendered("overlays/dev") if d["kind"] == "Secret"][0]["stringData"]
    assert len(dev["SECRET_KEY"]) >= 50  # production settings refuse anything shorter
    assert dev["CDN_SIGNING_SECRETS"] != dev["SECRET_KEY"]
    assert "PLAYBACK_SIGNING_KEY" not in dev  # one signer: the CDN's secrets sign every link


def test_keda_overlay_scales_the_transcode_queue_celery_routes_to():
    from django.conf import settings

    docs = rendered("overlays/production-keda")
    scaled = find(docs, "ScaledObject", "worker-transcode")
    target = scaled["spec"]["scaleTargetRef"]
    find(docs, "Deployment", target["name"])  # exists
    (trigger,) = scaled["spec"]["triggers"]
    queue = settings.CELERY_TASK_ROUTES["media.tasks.media_transcode"]["queue"]
    # The broker production runs is RabbitMQ: KEDA reads that queue's depth from it.
    assert trigger["type"] == "rabbitmq"
    assert trigger["metadata"]["queueName"] == queue
    assert trigger["metadata"]["mode"] == "QueueLength"
    auth = find(docs, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    (ref,) = auth["spec"]["secretTargetRef"]
    assert ref["parameter"] == "host"
    # The workers' own broker URL, from the Secret every workload reads.
    assert (ref["name"], ref["key"]) == ("streamsite-secrets", "CELERY_BROKER_URL")
    # (Production's Secret is managed outside git; base names its keys.)
    base_secret = find(rendered("base"), "Secret", "streamsite-secrets")
    assert "CELERY_BROKER_URL" in base_secret["stringData"]
    worker = _pod_spec(find(docs, "Deployment", "worker-transcode"))["containers"][0]
    assert worker["args"][0] == "worker" and queue in worker["args"][1].split(",")


def test_dev_broker_is_rabbitmq_with_a_consumer_timeout_past_the_longest_task():
    """A delivery unacknowledged past RabbitMQ's consumer_timeout (30 minutes by default)
    closes the worker's channel mid-task; Celery acknowledges after the task, so the timeout
    must exceed the longest hard limit plus margin (CELERY_BROKER_ACK_DEADLINE)."""
    from django.conf import settings

    docs = rendered("overlays/dev")
    secret = find(docs, "Secret", "streamsite-secrets")["stringData"]
    broker = secret["CELERY_BROKER_URL"]
    assert broker.startswith("amqp://")
    service = find(docs, "Service", "rabbitmq")
    port = service["spec"]["ports"][0]["port"]
    assert broker.split("@", 1)[1].split("/", 1)[0] == f"rabbitmq:{port}"

    pod = _pod_spec(find(docs, "Deployment", "rabbitmq"))
    (mount,) = pod["containers"][0]["volumeMounts"]
    assert mount["mountPath"].startswith("/etc/rabbitmq/conf.d/")
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    config = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == volume["configMap"]["name"]
    ]
    assert len(config) == 1, "the mounted ConfigMap is rendered (name hash included)"
    conf = config[0]["data"][mount["subPath"]]
    values = {}
    for raw in conf.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    assert int(values["consumer_timeout"]) > settings.CELERY_BROKER_ACK_DEADLINE * 1000


def test_every_queue_tasks_are_routed_to_has_a_worker_in_every_shape():
    from django.conf import settings

    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    routed |= set(settings.CELERY_QUEUE_TIME_LIMITS) | {settings.CELERY_TASK_DEFAULT_QUEUE}
    docs = rendered("base")
    consumed_k8s: set[str] = set()
    for doc in docs:
        if doc["kind"] == "Deployment" and doc["metadata"]["name"].startswith("worker-"):
            args = _pod_spec(doc)["containers"][0]["args"]
            consumed_k8s |= set(args[1].split(","))
    procfile = (ROOT / "Procfile").read_text()
    consumed_up = {
        queue
        for line in procfile.splitlines()
        if "--queues" in line
        for queue in line.split("--queues", 1)[1].split()[0].split(",")
    }
    assert routed == {"default", "batch", "long", "transcode"}
    assert routed - consumed_k8s == set()
    assert routed - consumed_up == set()


def test_a_rollout_can_apply_configuration_and_migrations_before_the_workloads():
    """docs/operations.md step 2 selects `app.kubernetes.io/component in (config,migrate)`."""
    docs = rendered("overlays/production")
    first = [
        d
        for d in docs
        if d["metadata"].get("labels", {}).get("app.kubernetes.io/component")
        in ("config", "migrate")
    ]
    assert sorted(d["kind"] for d in first) == ["ConfigMap", "ConfigMap", "Job"]
    job = find(first, "Job", "migrate")
    refs = _pod_spec(job)["containers"][0]["envFrom"]
    names = {d["metadata"]["name"] for d in first}
    assert refs[0]["configMapRef"]["name"] in names  # the hashed name of this release's config
    assert refs[1]["secretRef"]["name"] == "streamsite-secrets"  # managed outside git
