"""deploy/k8s: structure, probes, resources, PDBs, HPAs, Secrets, jobs, schemas."""
import importlib
import shutil
from collections import defaultdict

import pytest

from services.contract import HTTP_PORTS, METRICS_PORTS, SERVICES
from tests.deploy.helpers import DEPLOY, in_ci, load_all, load_yaml, run, targets

K8S = DEPLOY / "k8s"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def dns(s):
    return s.replace("_", "-")


@pytest.fixture(scope="module")
def docs():
    out = []
    for path in MANIFESTS:
        for doc in load_all(path):
            out.append(doc)
    return out


@pytest.fixture(scope="module")
def by_kind(docs):
    kinds = defaultdict(dict)
    for d in docs:
        kinds[d["kind"]][d["metadata"]["name"]] = d
    return kinds


def test_manifests_are_generated_and_fresh():
    result = run([_python(), str(K8S / "generate.py"), "--check"])
    assert result.returncode == 0, result.stdout + result.stderr


def _python():
    import sys
    return sys.executable


def test_every_doc_has_required_fields(docs):
    assert docs
    for d in docs:
        assert d.get("apiVersion") and d.get("kind"), d
        meta = d["metadata"]
        assert meta.get("name"), d
        if d["kind"] != "Namespace":
            assert meta.get("namespace") == "kehu-crm", meta["name"]
    names = [(d["kind"], d["metadata"]["name"]) for d in docs]
    assert len(names) == len(set(names)), "duplicate resources"


def test_kustomization_lists_every_manifest():
    kust = load_yaml(K8S / "kustomization.yaml")
    assert sorted(kust["resources"]) == [p.name for p in MANIFESTS]


def deployments_expected():
    for s in SERVICES:
        yield s, "service", f"crm-{dns(s)}"
        yield s, "gateway", f"crm-{dns(s)}-gateway"


@pytest.mark.parametrize("service,role,name", list(deployments_expected()))
def test_deployment_per_service_and_gateway(by_kind, service, role, name):
    dep = by_kind["Deployment"][name]
    tpl = dep["spec"]["template"]
    sel = dep["spec"]["selector"]["matchLabels"]
    assert sel.items() <= tpl["metadata"]["labels"].items()
    (c,) = tpl["spec"]["containers"]
    svc_target, gw_target = targets(service)
    target = svc_target if role == "service" else gw_target
    assert c["command"] == ["nameko", "run", "--config", "config.yml", target]
    pkg = importlib.import_module(f"services.{service}")
    declared = getattr(pkg, "SERVICE" if role == "service" else "GATEWAY", None)
    if declared:
        assert declared == target
    env = {e["name"]: e for e in c["env"]}
    assert "AMQP_URI" in env
    # issue 21: every component connects as its own bus user and verifies tokens; a
    # service signs its own principal's tokens with its own key (kid svc:<name>)
    own = service if role == "service" else f"{service}_gateway"
    assert env["AMQP_URI"]["valueFrom"]["secretKeyRef"]["name"] == f"crm-{dns(own)}-amqp"
    assert env["JWT_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "crm-jwt"
    assert env["JWT_KEYS"]["valueFrom"]["secretKeyRef"]["name"] == "crm-jwt"
    if role == "service":
        assert env["JWT_PRIVATE_KEY"]["valueFrom"]["secretKeyRef"]["name"] \
            == f"crm-{dns(service)}-jwt-signing"
    else:
        assert "JWT_PRIVATE_KEY" not in env, "gateways forward users' tokens, mint none"
    port = METRICS_PORTS[service] if role == "service" else HTTP_PORTS[service]
    assert [p["containerPort"] for p in c["ports"]] == [port]
    port_name = c["ports"][0]["name"]
    if role == "service":
        assert env["METRICS_PORT"]["value"] == str(port)
        assert env[f"{service.upper()}_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] \
            == f"crm-{dns(service)}-db"
        assert c["readinessProbe"]["httpGet"] == {"path": "/metrics", "port": port_name}
        assert "replicas" not in dep["spec"], "the HPA owns the replica count"
    else:
        assert env["WEB_SERVER_ADDRESS"]["value"] == f"0.0.0.0:{port}"
        assert env["JWT_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "crm-jwt"
        assert not any(k.endswith("_DATABASE_URL") for k in env), "gateways hold no data"
        assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": port_name}
        assert dep["spec"]["replicas"] >= 2
    assert c["livenessProbe"]
    assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
    assert c["resources"]["limits"]["memory"]
    assert c["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    ann = tpl["metadata"]["annotations"]
    assert ann["prometheus.io/scrape"] == "true" and ann["prometheus.io/port"] == str(port)
    mounts = {m["name"] for m in c["volumeMounts"]}
    assert mounts <= {v["name"] for v in tpl["spec"]["volumes"]}


def test_every_deployment_has_a_matching_pdb(by_kind):
    pdbs = list(by_kind["PodDisruptionBudget"].values())
    for name, dep in by_kind["Deployment"].items():
        labels = dep["spec"]["template"]["metadata"]["labels"]
        matching = [p for p in pdbs
                    if p["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(matching) == 1, f"{name}: {len(matching)} PDBs"
        assert matching[0]["spec"].get("minAvailable") or matching[0]["spec"].get(
            "maxUnavailable")


def test_hpa_targets_exist_and_cover_the_domain_services(by_kind):
    hpas = by_kind["HorizontalPodAutoscaler"]
    scaled = set()
    for name, hpa in hpas.items():
        ref = hpa["spec"]["scaleTargetRef"]
        assert ref["kind"] == "Deployment" and ref["apiVersion"] == "apps/v1"
        assert ref["name"] in by_kind["Deployment"], f"{name} targets a missing Deployment"
        dep = by_kind["Deployment"][ref["name"]]
        assert dep["metadata"]["labels"]["app.kubernetes.io/component"] == "service"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        assert hpa["spec"]["minReplicas"] >= 2, "PDB minAvailable 1 needs 2 replicas"
        scaled.add(ref["name"])
    assert scaled == {f"crm-{dns(s)}" for s in SERVICES}


def test_referenced_secrets_configmaps_and_claims_exist(by_kind):
    secrets, cms = by_kind["Secret"], by_kind["ConfigMap"]
    pods = [d["spec"]["template"]["spec"] for d in by_kind["Deployment"].values()]
    pods += [j["spec"]["template"]["spec"] for j in by_kind["Job"].values()]
    for pod in pods:
        for c in pod["containers"]:
            for e in c.get("env", ()):
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    s = secrets[ref["secretKeyRef"]["name"]]
                    assert ref["secretKeyRef"]["key"] in s["stringData"]
                if "configMapKeyRef" in ref:
                    assert ref["configMapKeyRef"]["key"] in \
                        cms[ref["configMapKeyRef"]["name"]]["data"]
        for v in pod.get("volumes", ()):
            if "persistentVolumeClaim" in v:
                assert v["persistentVolumeClaim"]["claimName"] in by_kind[
                    "PersistentVolumeClaim"]
        assert pod.get("serviceAccountName") in by_kind["ServiceAccount"]
    for s in SERVICES:  # least privilege: one DB secret per service, used only by it
        users = [d for d in by_kind["Deployment"].values() if any(
            e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == f"crm-{dns(s)}-db"
            for c in d["spec"]["template"]["spec"]["containers"] for e in c["env"])]
        assert [d["metadata"]["name"] for d in users] == [f"crm-{dns(s)}"]


def test_services_select_their_pods(by_kind):
    for name, svc in by_kind["Service"].items():
        dep = by_kind["Deployment"][name]
        labels = dep["spec"]["template"]["metadata"]["labels"]
        assert svc["spec"]["selector"].items() <= labels.items()
        ports = {p["name"] for p in dep["spec"]["template"]["spec"]["containers"][0]["ports"]}
        assert {p["targetPort"] for p in svc["spec"]["ports"]} <= ports


def test_a_migration_job_per_service_and_a_bus_setup_job(by_kind):
    jobs = by_kind["Job"]
    for s in SERVICES:
        job = jobs[f"crm-migrate-{dns(s)}"]
        (c,) = job["spec"]["template"]["spec"]["containers"]
        assert c["command"] == ["crm", "migrate", s]
        assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")
        assert c["resources"]["requests"]
    (c,) = jobs["crm-bus-setup"]["spec"]["template"]["spec"]["containers"]
    assert c["command"] == ["crm", "bus", "setup"]


def test_manifests_validate_against_kubernetes_schemas():
    try:
        import kubernetes_validate
    except ImportError:
        if in_ci():
            pytest.fail("kubernetes-validate missing: pip install kubernetes-validate==1.37.0")
        pytest.skip("kubernetes-validate not installed (pip install kubernetes-validate==1.37.0)")
    version = kubernetes_validate.latest_version()
    for path in MANIFESTS:
        for doc in load_all(path):
            kubernetes_validate.validate(doc, version, strict=True)


def test_kustomize_builds():
    if not shutil.which("kubectl"):
        pytest.skip("kubectl not installed; kustomization checked structurally above")
    result = run(["kubectl", "kustomize", str(K8S)])
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\nkind: Deployment") + result.stdout.startswith(
        "kind: Deployment") == 2 * len(SERVICES)
