"""deploy/docker-compose.yml: every component, ports, depends_on, mounts."""
import importlib
import json
import re
import shutil

import pytest

from services.contract import HTTP_PORTS, METRICS_PORTS, SERVICES
from tests.deploy.helpers import DEPLOY, load_yaml, run, targets

COMPOSE = DEPLOY / "docker-compose.yml"
INFRA = ("rabbitmq", "postgres", "setup", "prometheus", "grafana")


@pytest.fixture(scope="module")
def compose():
    return load_yaml(COMPOSE)


def crm_components():
    for s in SERVICES:
        yield s, s, "service"
        yield s, f"{s}_gateway", "gateway"


def test_every_service_gateway_and_engine_is_present(compose):
    names = set(compose["services"])
    expected = set(INFRA) | {n for _, n, _ in crm_components()}
    assert expected <= names, f"missing: {sorted(expected - names)}"


@pytest.mark.parametrize("service,name,role", list(crm_components()))
def test_component_command_image_and_port(compose, service, name, role):
    spec = compose["services"][name]
    svc_target, gw_target = targets(service)
    target = svc_target if role == "service" else gw_target
    assert spec["command"] == ["nameko", "run", "--config", "config.yml", target]
    # the class path agrees with what `make run` starts, where the department declares it
    pkg = importlib.import_module(f"services.{service}")
    declared = getattr(pkg, "SERVICE" if role == "service" else "GATEWAY", None)
    if declared:
        assert declared == target
    assert spec["image"] == compose["services"]["setup"]["image"], "one image for all"
    env = spec["environment"]
    assert env["AMQP_URI"].startswith("amqp://")
    # issue 21: its own bus user (created by `crm bus setup` from CRM_BUS_CREDENTIALS)
    user, password = env["AMQP_URI"].split("://", 1)[1].split("@", 1)[0].split(":", 1)
    assert user == name
    assert json.loads(compose["services"]["setup"]["environment"]["CRM_BUS_CREDENTIALS"]
                      )[user] == password
    assert env[f"{service.upper()}_DATABASE_URL"].startswith("postgresql+psycopg2://")
    assert env[f"{service.upper()}_DATABASE_URL"].endswith(f"/{service}")
    if role == "service":
        port = METRICS_PORTS[service]
        assert env["METRICS_PORT"] == str(port)
    else:
        port = HTTP_PORTS[service]
        assert env["WEB_SERVER_ADDRESS"] == f"0.0.0.0:{port}"
        assert env["JWT_KEY"] and env["JWT_ALGORITHM"]
    assert f"{port}:{port}" in spec["ports"]


def test_depends_on_setup_and_engines(compose):
    services = compose["services"]
    for _, name, _ in crm_components():
        deps = services[name]["depends_on"]
        assert deps["setup"]["condition"] == "service_completed_successfully", name
        assert deps["rabbitmq"]["condition"] == "service_healthy", name
        assert deps["postgres"]["condition"] == "service_healthy", name
    setup = services["setup"]
    assert "crm bus setup" in " ".join(setup["command"])
    assert "crm migrate" in " ".join(setup["command"])
    assert setup["restart"] == "no"
    assert setup["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert setup["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name, spec in services.items():
        for dep in spec.get("depends_on") or ():
            assert dep in services, f"{name} depends on unknown {dep}"
    for engine in ("rabbitmq", "postgres"):
        assert services[engine]["healthcheck"]["test"], engine


def test_image_is_built_from_the_root_dockerfile(compose):
    build = compose["services"]["setup"]["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve().is_file()


def _mounts(spec):
    out = {}
    for v in spec.get("volumes", ()):
        src, dst = v.split(":")[:2]
        out[dst] = src
    return out


def test_rabbitmq_loads_contract_definitions_with_management(compose):
    spec = compose["services"]["rabbitmq"]
    assert "management" in spec["image"]
    mounts = _mounts(spec)
    for src in mounts.values():
        if src.startswith("./"):
            assert (COMPOSE.parent / src).exists(), src
    conf_src = mounts["/etc/rabbitmq/rabbitmq.conf"]
    conf = (COMPOSE.parent / conf_src).read_text()
    folder = re.search(r"^definitions\.local\.path\s*=\s*(\S+)", conf, re.M).group(1)
    loaded = {dst: src for dst, src in mounts.items() if dst.startswith(folder + "/")}
    assert "./rabbitmq/definitions.json" in loaded.values()
    assert all(dst.endswith(".json") for dst in loaded)
    plugins = (COMPOSE.parent / mounts["/etc/rabbitmq/enabled_plugins"]).read_text()
    assert "rabbitmq_management" in plugins and "rabbitmq_prometheus" in plugins


def test_postgres_init_creates_one_database_per_service(compose):
    spec = compose["services"]["postgres"]
    initdb = COMPOSE.parent / _mounts(spec)["/docker-entrypoint-initdb.d"]
    sql = "\n".join(p.read_text() for p in sorted(initdb.glob("*.sql")))
    for s in SERVICES:
        assert re.search(rf"CREATE DATABASE {s} OWNER {s};", sql), s
        assert re.search(rf"CREATE ROLE {s} LOGIN PASSWORD '[^']+';", sql), s
        url = compose["services"][s]["environment"][f"{s.upper()}_DATABASE_URL"]
        password = re.search(rf"CREATE ROLE {s} LOGIN PASSWORD '([^']+)'", sql).group(1)
        assert f"//{s}:{password}@postgres:5432/{s}" in url


def test_prometheus_and_grafana_are_provisioned(compose):
    prom = _mounts(compose["services"]["prometheus"])
    assert prom["/etc/prometheus/prometheus.yml"] == "./prometheus/prometheus.yml"
    assert prom["/etc/prometheus/rules"] == "./prometheus/rules"
    graf = _mounts(compose["services"]["grafana"])
    assert (COMPOSE.parent / graf["/etc/grafana/provisioning"] / "datasources").is_dir()
    provider = load_yaml(COMPOSE.parent / graf["/etc/grafana/provisioning"]
                         / "dashboards" / "kehu-crm.yml")
    path = provider["providers"][0]["options"]["path"]
    assert graf[path] == "./grafana/dashboards"
    assert (COMPOSE.parent / "grafana/dashboards/kehu-crm.json").is_file()


def test_compose_config_with_the_docker_client():
    """`docker compose config` (or docker-compose v1) parses and interpolates the file."""
    has_plugin = bool(shutil.which("docker")) and run(
        ["docker", "compose", "version"]).returncode == 0
    if has_plugin:
        cmd = ["docker", "compose", "-f", str(COMPOSE), "config", "-q"]
    elif shutil.which("docker-compose"):
        cmd = ["docker-compose", "-f", str(COMPOSE), "config", "-q"]
    else:
        pytest.skip("neither `docker compose` nor docker-compose installed "
                    "(apt-get install docker-compose); structure checked above")
    result = run(cmd)
    assert result.returncode == 0, result.stderr
