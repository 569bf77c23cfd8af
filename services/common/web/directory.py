"""Dev user directory and the workspaces each user may use.

The identity provider's token says who the user is (sub, name, roles,
department). In dev, ``crm token --user u1`` mints one; this directory gives
the demo users their display names and default role/department, so the header
shows a name and the department switcher knows who may use what.

Workspace URLs: config ``WORKSPACE_URLS`` ({service: url}) or, by default,
``http://127.0.0.1:<8001..8005 + CRM_PORT_OFFSET>/``.
"""
import os

from services.contract import HTTP_PORTS

DEV_USERS = {
    "u1": {"name": "王芳", "role": "staff", "department": "sales"},
    "u2": {"name": "李强", "role": "staff", "department": "sales"},
    "u3": {"name": "张敏", "role": "staff", "department": "sales"},
    "s1": {"name": "刘洋", "role": "staff", "department": "service"},
    "s2": {"name": "陈静", "role": "staff", "department": "service"},
    "s3": {"name": "杨帆", "role": "staff", "department": "service"},
    "mk1": {"name": "赵磊", "role": "staff", "department": "marketing"},
    "mk2": {"name": "黄丽", "role": "staff", "department": "marketing"},
    "m1": {"name": "周经理", "role": "manager", "department": "management"},
}

# service -> who may use its workspace: departments (any role) and/or roles (any
# department). Managers and admins may use every workspace.
WORKSPACES = {
    "customers": {"departments": {"sales"}, "roles": set(),
                  "title": "workspace.customers"},
    "sales": {"departments": {"sales"}, "roles": set(),
              "title": "workspace.sales"},
    "service_desk": {"departments": {"service"}, "roles": set(),
                     "title": "workspace.service_desk"},
    "marketing": {"departments": {"marketing"}, "roles": set(),
                  "title": "workspace.marketing"},
    # managers: the dashboard; sales and service staff: their own scorecard ("我的绩效",
    # /app/scorecard on 8005) - listed, but never their home workspace
    "reporting": {"departments": {"sales", "service"}, "roles": set(),
                  "title": "workspace.reporting",
                  "staff": {"title": "workspace.my_scorecard", "to": "/app/scorecard",
                            "home": False}},
}
ALL_ACCESS_ROLES = {"manager", "admin"}


def dev_user(user_id):
    return DEV_USERS.get(user_id)


def display_name(actor):
    """The token's name, else the directory's, else the id."""
    name = actor.get("name")
    if name and name != actor.get("id"):
        return name
    entry = DEV_USERS.get(actor.get("id"))
    return entry["name"] if entry else (name or actor.get("id") or "")


def people(departments):
    """[(user id, display name)] of the directory's people in ``departments`` and its
    managers/admins, in directory order: what a page offers to pick someone by name."""
    return [(uid, entry["name"]) for uid, entry in DEV_USERS.items()
            if entry.get("department") in departments or entry.get("role") in ALL_ACCESS_ROLES]


def may_use(actor, service):
    ws = WORKSPACES.get(service)
    if ws is None:
        return False
    roles = set(actor.get("roles") or ())
    if roles & ALL_ACCESS_ROLES:
        return True
    return actor.get("department") in ws["departments"] or bool(roles & ws["roles"])


def workspace_url(config, service):
    urls = (config or {}).get("WORKSPACE_URLS") or {}
    if urls.get(service):
        return urls[service]
    offset = int(os.environ.get("CRM_PORT_OFFSET", "0") or 0)
    return f"http://127.0.0.1:{HTTP_PORTS[service] + offset}/"


def all_access(actor):
    return bool(set((actor or {}).get("roles") or ()) & ALL_ACCESS_ROLES)


def entry_for(actor, service):
    """The workspace's switcher entry as this actor sees it: managers/admins the
    workspace itself, staff its ``staff`` variant if it has one (title, landing
    path ``to``, ``home``: whether it may be the actor's home workspace)."""
    ws = WORKSPACES[service]
    entry = {"title": ws["title"], "to": None, "home": True}
    if actor and not all_access(actor) and ws.get("staff"):
        entry.update(ws["staff"])
    return entry


def workspaces_for(config, actor):
    """[(service, title key, url)] of the workspaces this actor may use, in port order."""
    return [(svc, entry_for(actor, svc)["title"], workspace_url(config, svc))
            for svc in HTTP_PORTS if svc in WORKSPACES and may_use(actor, svc)]


def is_home_for(actor, service):
    """May ``service`` be the actor's home workspace (the error page's "back" link,
    the kit's start page)? Not a staff member's scorecard on the dashboard gateway."""
    return service in WORKSPACES and may_use(actor, service) and \
        entry_for(actor, service)["home"]


def app_path(to):
    """``to`` if it is a local workspace page path (``/app`` or ``/app/...``, no
    ``//``, ``\\``, ``..`` segment, control character or space), else None. Non-ASCII
    characters (a Chinese search term) are percent-encoded."""
    from werkzeug.urls import iri_to_uri
    if not isinstance(to, str) or not (to == "/app" or to.startswith(("/app/", "/app?"))):
        return None
    if "//" in to or "\\" in to or any(ord(ch) < 0x21 or ord(ch) == 0x7f for ch in to):
        return None
    path = to.split("?", 1)[0].split("#", 1)[0]
    if ".." in path.split("/") or "%2e" in path.lower():  # no dot segment, plain or encoded
        return None
    return iri_to_uri(to)


def sign_in_hint(user_id):
    """The `crm token` command line for a demo user (shown on the login page)."""
    entry = DEV_USERS.get(user_id) or {"role": "staff", "department": "sales"}
    return f"crm token --user {user_id} --role {entry['role']} --department {entry['department']}"
