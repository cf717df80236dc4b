"""deploy/k8s/: every manifest valid for a pinned Kubernetes version
(kubernetes-validate, strict: an unknown field is an error), and consistent
with itself, the image and the app (labels, ports, probes, settings)."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.files import (
    HEALTH_LIVE,
    HEALTH_READY,
    K8S,
    dockerfile,
    image_command,
    image_env,
    load_all_yaml,
    load_yaml,
    one,
    read_by_the_server,
    settings_for,
    variables_read,
)

# The oldest Kubernetes still supported upstream when this was written; the
# manifests use nothing newer (autoscaling/v2, policy/v1, batch/v1).
KUBERNETES_VERSION = "1.31.0"

FILES = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
RESOURCES: list[tuple[Path, dict[str, Any]]] = [
    (path, document) for path in FILES for document in load_all_yaml(path)
]
INSTRUCTIONS = dockerfile()


def _find(kind: str, name: str) -> dict[str, Any]:
    (found,) = [
        r for _, r in RESOURCES if r["kind"] == kind and r["metadata"]["name"] == name
    ]
    return found


DEPLOYMENT = _find("Deployment", "blog")
POD = DEPLOYMENT["spec"]["template"]["spec"]
(CONTAINER,) = POD["containers"]
JOB = _find("Job", "blog-migrate")


@pytest.mark.parametrize(
    ("path", "resource"),
    RESOURCES,
    ids=[f"{p.name}:{r['kind']}/{r['metadata']['name']}" for p, r in RESOURCES],
)
def test_each_manifest_is_valid_for_the_pinned_kubernetes(
    path: Path, resource: dict[str, Any]
) -> None:
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_validation_catches_a_misspelled_field() -> None:
    broken = copy.deepcopy(DEPLOYMENT)
    broken["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_but_the_kind_only_services() -> None:
    listed = load_yaml(K8S / "kustomization.yaml")["resources"]
    assert sorted(listed) == sorted(p.name for p in FILES if p.name != "dev-services.yaml")


def test_there_is_each_kind_of_resource_the_deployment_needs() -> None:
    kinds = {r["kind"] for path, r in RESOURCES if path.name != "dev-services.yaml"}
    assert kinds >= {"Deployment", "Service", "ConfigMap", "Secret", "HorizontalPodAutoscaler",
                     "Job", "Namespace", "PodDisruptionBudget"}  # fmt: skip


def test_everything_lives_in_the_one_namespace() -> None:
    namespace = _find("Namespace", "minimal-asgi")["metadata"]["name"]
    for _, resource in RESOURCES:
        if resource["kind"] != "Namespace":
            assert resource["metadata"]["namespace"] == namespace


def test_selectors_match_the_pod_labels() -> None:
    labels = DEPLOYMENT["spec"]["template"]["metadata"]["labels"]
    selected = DEPLOYMENT["spec"]["selector"]["matchLabels"]
    assert selected.items() <= labels.items()
    assert _find("Service", "blog")["spec"]["selector"].items() <= labels.items()
    pdb = _find("PodDisruptionBudget", "blog")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    # The migration Job's pods must not be picked up by the Service.
    job_labels = JOB["spec"]["template"]["metadata"]["labels"]
    assert not _find("Service", "blog")["spec"]["selector"].items() <= job_labels.items()


def test_the_service_and_the_probes_reach_the_port_uvicorn_listens_on() -> None:
    ports = {p["name"]: p["containerPort"] for p in CONTAINER["ports"]}
    assert ports == {"http": int(image_env(INSTRUCTIONS)["UVICORN_PORT"])}
    (service_port,) = _find("Service", "blog")["spec"]["ports"]
    assert service_port["targetPort"] in ports
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert CONTAINER[probe]["httpGet"]["port"] in ports


def test_probes_use_the_health_endpoints() -> None:
    assert CONTAINER["livenessProbe"]["httpGet"]["path"] == HEALTH_LIVE
    assert CONTAINER["startupProbe"]["httpGet"]["path"] == HEALTH_LIVE
    assert CONTAINER["readinessProbe"]["httpGet"]["path"] == HEALTH_READY


def test_the_container_runs_the_images_command_as_its_non_root_user() -> None:
    assert CONTAINER["command"] == image_command(INSTRUCTIONS)  # uvicorn as PID 1
    assert "args" not in CONTAINER
    uid, _, gid = one(INSTRUCTIONS, "USER").arguments.partition(":")
    for pod in (POD, JOB["spec"]["template"]["spec"]):
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True
        assert (context["runAsUser"], context["runAsGroup"]) == (int(uid), int(gid))


def test_every_container_is_locked_down_and_has_requests_and_limits() -> None:
    for resource in (DEPLOYMENT, JOB):
        for container in resource["spec"]["template"]["spec"]["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
            assert {"cpu", "memory"} <= container["resources"]["limits"].keys()


def test_the_only_writable_path_is_a_mounted_tmp() -> None:
    (mount,) = CONTAINER["volumeMounts"]
    assert mount["mountPath"] == "/tmp"
    (volume,) = POD["volumes"]
    assert volume["name"] == mount["name"] and "emptyDir" in volume


def test_a_rolling_update_never_lowers_the_ready_pods() -> None:
    strategy = DEPLOYMENT["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    assert strategy["rollingUpdate"]["maxSurge"] >= 1


def test_shutdown_fits_in_the_grace_period() -> None:
    args = CONTAINER["command"]
    graceful = int(args[args.index("--timeout-graceful-shutdown") + 1])
    pause = int(CONTAINER["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pause + graceful < POD["terminationGracePeriodSeconds"]


def test_the_autoscaler_scales_this_deployment_on_a_requested_resource() -> None:
    hpa = _find("HorizontalPodAutoscaler", "blog")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", DEPLOYMENT["metadata"]["name"])
    (metric,) = hpa["spec"]["metrics"]
    # Utilisation is a share of the request: without one the HPA cannot compute it.
    assert metric["resource"]["name"] in CONTAINER["resources"]["requests"]
    assert hpa["spec"]["minReplicas"] >= 2  # the PodDisruptionBudget keeps one of them


def _environment(container: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container["envFrom"]:
        if "configMapRef" in source:
            env.update(_find("ConfigMap", source["configMapRef"]["name"])["data"])
        else:
            env.update(_find("Secret", source["secretRef"]["name"])["stringData"])
    return env


def test_the_app_settings_load_in_production_from_the_configmap_and_secret() -> None:
    reference = CONTAINER["command"][1]
    cls, prefix = settings_for(reference)
    env = _environment(CONTAINER)
    settings = cls.from_env(prefix=prefix, environ=env)
    assert settings.is_production
    assert settings.migrate_on_startup is False  # the Job does it
    unknown = {v for v in env if v not in variables_read(reference) and not read_by_the_server(v)}
    assert unknown == set(), "a key nothing reads (a typo?)"


def test_the_migration_job_migrates_the_apps_dialect_with_the_same_image() -> None:
    (container,) = JOB["spec"]["template"]["spec"]["containers"]
    assert container["image"] == CONTAINER["image"]
    argv = container["command"]
    assert argv[:4] == ["python", "-m", "minimal_asgi_sql", "migrate"]
    folder = argv[argv.index("--dir") + 1]
    assert (K8S.parent.parent / folder / "0001_create_users.sql").exists()
    assert set(_environment(container)) == {"DATABASE_URL"}
    assert JOB["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_kubectl_kustomize_renders_every_listed_resource() -> None:
    """kubectl's own kustomize, where kubectl is installed (it needs no cluster)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed here; the manifests are validated above without it")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rendered = {(r["kind"], r["metadata"]["name"]) for r in yaml.safe_load_all(result.stdout)}
    listed = load_yaml(K8S / "kustomization.yaml")["resources"]
    expected = {
        (r["kind"], r["metadata"]["name"]) for path, r in RESOURCES if path.name in listed
    }
    assert rendered == expected
