"""Create the least-privilege bus users (services.common.bus_users) on a broker.

``crm bus setup`` calls ``provision``: passwords come from (and new ones go to)
``<VAR_DIR>/bus-credentials.json`` (mode 0600); the users, their permissions and
topic permissions are imported in one ``rabbitmqctl import_definitions`` where
this host may run rabbitmqctl against the broker (the embedded default of ``make
run``), else through the management API where it answers with the configured
user's rights; otherwise nothing is changed and ``commands`` says what an
administrator runs where they can. ``amqp_uri_for`` gives each component its own
URI (``crm run`` starts every process with its own user once provisioned).
"""
import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

from services.common import bus_users

CREDENTIALS_FILE = "bus-credentials.json"


def parse_uri(amqp_uri):
    u = urllib.parse.urlsplit(amqp_uri)
    vhost = urllib.parse.unquote(u.path[1:]) if len(u.path) > 1 else "/"
    return u, vhost


def amqp_uri_for(amqp_uri, user, password):
    """``amqp_uri`` with ``user:password`` instead of its credentials."""
    u, _ = parse_uri(amqp_uri)
    host = u.hostname or "127.0.0.1"
    netloc = (f"{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
              f"@{host}" + (f":{u.port}" if u.port else ""))
    return urllib.parse.urlunsplit((u.scheme, netloc, u.path, u.query, u.fragment))


def password_hash(password, salt=None):
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt + sha256(salt + pw))."""
    salt = salt if salt is not None else secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def load_credentials(folder):
    path = Path(folder) / CREDENTIALS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def save_credentials(folder, creds):
    path = Path(folder) / CREDENTIALS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(creds, f, indent=2, sort_keys=True)
    os.chmod(path, 0o600)
    return path


def credentials(folder, prefix="", given=None):
    """{user: password} for every principal (users are global to a broker, so one
    password per user whatever the vhost): ``given`` ones (compose, Kubernetes: from
    a secret, ``BUS_CREDENTIALS``), else kept, else new ones; saved."""
    creds = load_credentials(folder)
    users = creds.setdefault("users", {})
    changed = False
    for user, _kind, _service in bus_users.principals(prefix):
        if given and given.get(user) and users.get(user) != given[user]:
            users[user] = given[user]
            changed = True
        elif user not in users:
            users[user] = secrets.token_urlsafe(24)
            changed = True
    if changed:
        save_credentials(folder, creds)
    return users


def user_definitions(passwords, vhost, prefix=""):
    """definitions.json fragment: the users (hashed passwords), permissions, topics."""
    out = {"vhosts": [{"name": vhost}], "users": [], "permissions": [], "topic_permissions": []}
    for user, perms in bus_users.all_permissions(prefix).items():
        out["users"].append({"name": user, "password_hash": password_hash(passwords[user]),
                             "hashing_algorithm": "rabbit_password_hashing_sha256",
                             "tags": []})
        out["permissions"].append({"user": user, "vhost": vhost, "configure": perms["configure"],
                                   "write": perms["write"], "read": perms["read"]})
        out["topic_permissions"] += [{"user": user, "vhost": vhost, **t}
                                     for t in perms["topics"]]
    return out


def commands(vhost, password_placeholder="<password>", prefix=""):
    """The rabbitmqctl commands an administrator runs (passwords from a secret store)."""
    lines = []
    for user, perms in bus_users.all_permissions(prefix).items():
        lines.append(f"rabbitmqctl add_user {user} '{password_placeholder}'")
        lines.append(f"rabbitmqctl set_permissions -p '{vhost}' {user} "
                     f"'{perms['configure']}' '{perms['write']}' '{perms['read']}'")
        for t in perms["topics"]:
            lines.append(f"rabbitmqctl set_topic_permissions -p '{vhost}' {user} "
                         f"{t['exchange']} '{t['write']}' '{t['read']}'")
    return lines


def _local(host):
    return host in (None, "", "127.0.0.1", "localhost", "::1")


def _rabbitmqctl(*args, timeout=60):
    ctl = shutil.which("rabbitmqctl") or ("/usr/sbin/rabbitmqctl"
                                          if os.path.exists("/usr/sbin/rabbitmqctl") else None)
    if not ctl:
        return None
    try:
        return subprocess.run([ctl, *args], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None


def _via_rabbitmqctl(defs):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(defs, f)
        path = f.name
    try:
        os.chmod(path, 0o644)  # rabbitmqctl may read it as the rabbitmq user
        done = _rabbitmqctl("import_definitions", path)
    finally:
        os.unlink(path)
    return done is not None and done.returncode == 0, (done.stderr.strip()[-300:]
                                                       if done is not None else "no rabbitmqctl")


def _via_management(amqp_uri, defs, port=15672):
    u, vhost = parse_uri(amqp_uri)
    base = f"http://{u.hostname or '127.0.0.1'}:{port}/api"
    auth = base64.b64encode(f"{urllib.parse.unquote(u.username or 'guest')}:"
                            f"{urllib.parse.unquote(u.password or 'guest')}".encode()).decode()
    q = urllib.parse.quote
    try:
        for user in defs["users"]:
            _put(f"{base}/users/{q(user['name'], safe='')}", auth,
                 {"password_hash": user["password_hash"], "tags": "",
                  "hashing_algorithm": user["hashing_algorithm"]})
        for p in defs["permissions"]:
            _put(f"{base}/permissions/{q(vhost, safe='')}/{q(p['user'], safe='')}", auth,
                 {k: p[k] for k in ("configure", "write", "read")})
        for t in defs["topic_permissions"]:
            _put(f"{base}/topic-permissions/{q(vhost, safe='')}/{q(t['user'], safe='')}", auth,
                 {k: t[k] for k in ("exchange", "write", "read")})
    except OSError as exc:
        return False, f"management API: {exc}"
    return True, ""


def _put(url, auth, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT",
                                 headers={"Authorization": f"Basic {auth}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - broker admin URL
        resp.read()


def default_prefix(amqp_uri, configured=None):
    """User names are global to a broker: the default vhost's users are the bare
    names, another vhost's (a test's, a second stack's) are ``<vhost>.<name>``."""
    if configured:
        return configured
    _, vhost = parse_uri(amqp_uri)
    return "" if vhost == "/" else f"{vhost}."


def _fingerprint(vhost, prefix):
    text = json.dumps([vhost, bus_users.all_permissions(prefix)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _can_log_in(uri):
    from kombu import Connection
    try:
        with Connection(uri, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:  # noqa: BLE001 - any failure means: provision again
        return False


def given_credentials(raw):
    """BUS_CREDENTIALS: a mapping or its JSON text; empty → None."""
    if isinstance(raw, str):
        return json.loads(raw) if raw.strip() else None
    return dict(raw) if raw else None


def provision(amqp_uri, folder, prefix="", given=None):
    """Create/refresh every principal's user on the URI's vhost where this host has
    the rights. → {"ok": bool, "how": "unchanged"|"rabbitmqctl"|"management"|None,
    "vhost", "why": str, "commands": [...] (when not ok)}. Nothing is done when the
    same users and permissions were provisioned before and still log in."""
    u, vhost = parse_uri(amqp_uri)
    passwords = credentials(folder, prefix, given)
    fingerprint = _fingerprint(vhost, prefix)
    saved = load_credentials(folder)
    probe = amqp_uri_for(amqp_uri, prefix + bus_users.CLI_USER,
                         passwords[prefix + bus_users.CLI_USER])
    if saved.get("provisioned", {}).get(vhost) == fingerprint and _can_log_in(probe):
        return {"ok": True, "how": "unchanged", "vhost": vhost, "why": ""}
    defs = user_definitions(passwords, vhost, prefix)
    tried = []
    how = None
    if _local(u.hostname):
        ok, why = _via_rabbitmqctl(defs)
        how = "rabbitmqctl" if ok else None
        if not ok:
            tried.append(f"rabbitmqctl: {why}")
    if how is None:
        ok, why = _via_management(amqp_uri, defs)
        how = "management" if ok else None
        if not ok:
            tried.append(why)
    if how:
        saved = load_credentials(folder)
        saved.setdefault("provisioned", {})[vhost] = fingerprint
        save_credentials(folder, saved)
        return {"ok": True, "how": how, "vhost": vhost, "why": ""}
    return {"ok": False, "how": None, "vhost": vhost, "why": "; ".join(tried),
            "commands": commands(vhost, prefix=prefix)}


def component_uri(amqp_uri, folder, user):
    """The URI ``user`` connects with (its own credentials), or None if none saved."""
    password = load_credentials(folder).get("users", {}).get(user)
    return amqp_uri_for(amqp_uri, user, password) if password else None
