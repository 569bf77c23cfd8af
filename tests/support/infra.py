"""Real infrastructure for tests: a RabbitMQ vhost and databases of their own.

In CI (CI=true) a missing broker or PostgreSQL is a failure, never a skip.
"""
import os
import shutil
import subprocess
import uuid

import pytest
from kombu import Connection

BROKER = os.environ.get("CRM_TEST_AMQP_BASE", "amqp://guest:guest@127.0.0.1:5672")
PG_ADMIN = os.environ.get("CRM_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def unavailable(what, why):
    msg = f"{what} is not available: {why}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(msg + " (CI=true: infrastructure tests must run)", pytrace=False)
    pytest.skip(msg)


def _rabbitmqctl(*args):
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    return subprocess.run([ctl, *args], capture_output=True, text=True, timeout=20)


def broker_reachable(uri):
    try:
        with Connection(uri, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


class Vhost:
    """A throwaway vhost (rabbitmqctl), or the default vhost if we cannot make one."""

    def __init__(self):
        self.name = f"crm-test-{uuid.uuid4().hex[:8]}"
        self.created = False

    def create(self):
        if not broker_reachable(f"{BROKER}/"):
            unavailable("RabbitMQ", f"cannot connect to {BROKER}")
        try:
            if _rabbitmqctl("add_vhost", self.name).returncode == 0:
                _rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
                self.created = True
                return f"{BROKER}/{self.name}"
        except (OSError, subprocess.SubprocessError):
            pass
        return f"{BROKER}/"  # no rabbitmqctl: tests use unique names on "/"

    def drop(self):
        if self.created:
            try:
                _rabbitmqctl("delete_vhost", self.name)
            except (OSError, subprocess.SubprocessError):
                pass  # a slow broker keeps an empty test vhost: harmless
            drop_bus_users(f"{self.name}.")


def drop_bus_users(prefix):
    """Delete the least-privilege bus users ``crm run``/``crm bus setup`` made for a
    test vhost (services.common.bus_provision.default_prefix: ``<vhost>.<name>``)."""
    try:
        listed = _rabbitmqctl("list_users", "-q", "--no-table-headers")
        names = [line.split("\t")[0] for line in listed.stdout.splitlines()]
        ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
        procs = [subprocess.Popen([ctl, "delete_user", "-q", name], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
                 for name in names if name.startswith(prefix)]
        for proc in procs:
            proc.wait(timeout=60)
    except (OSError, subprocess.SubprocessError):
        pass  # leftover users of a dropped vhost can do nothing


class PgDatabases:
    """One PostgreSQL database per service, created for this run and dropped after."""

    def __init__(self, services):
        self.prefix = f"crm_test_{uuid.uuid4().hex[:8]}"
        self.services = services
        self.urls = {}

    def _admin(self):
        import psycopg2
        try:
            conn = psycopg2.connect(PG_ADMIN, connect_timeout=5)
        except psycopg2.OperationalError as exc:
            unavailable("PostgreSQL", str(exc).strip())
        conn.autocommit = True
        return conn

    def create(self):
        conn = self._admin()
        base = PG_ADMIN.rsplit("/", 1)[0]
        with conn.cursor() as cur:
            for s in self.services:
                cur.execute(f'CREATE DATABASE "{self.prefix}_{s}"')
                self.urls[s] = f"{base}/{self.prefix}_{s}"
        conn.close()
        return self.urls

    def drop(self):
        if not self.urls:
            return
        conn = self._admin()
        with conn.cursor() as cur:
            for s in self.urls:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.prefix}_{s}" WITH (FORCE)')
        conn.close()
