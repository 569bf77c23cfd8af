"""customers' business rules as plain functions: no nameko, no I/O."""
import datetime as dt
import hashlib
import json
import os
from decimal import Decimal
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from services.common.identifiers import mask_email, mask_mobile

TYPES = ("potential", "closed", "lost")
TIERS = ("strategic", "key", "normal")
LOST_REASONS = ("price", "competitor", "service", "product", "relocation",
                "closed_business", "other")
CHANNELS = ("phone", "email", "sms", "wechat", "visit", "online")
SCALES = ("micro", "small", "medium", "large")

# KPIS.md: the 12 profile fields of the information template.
PROFILE_FIELDS = ("name", "uscc", "industry_code", "region", "scale", "annual_budget",
                  "needs", "source_channel")
CONTACT_FIELDS = (("contact_name", "name"), ("contact_title", "title"),
                  ("contact_mobile", "mobile"), ("contact_email", "email"))
COMPLETENESS_TOTAL = 12

MASKED_CONTACT_KEYS = {"mobile": mask_mobile, "email": mask_email}
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
ATTACHMENT_TYPES = {".pdf": ("application/pdf", (b"%PDF-",)),
                    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
                    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",))}


def _filled(value):
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    return True


def filled_fields(profile, primary_contact):
    """Names of the 12 template fields that hold a value."""
    out = [f for f in PROFILE_FIELDS if _filled(profile.get(f))]
    contact = primary_contact or {}
    out += [name for name, key in CONTACT_FIELDS if _filled(contact.get(key))]
    return out


def completeness(filled):
    return round(len(filled) / COMPLETENESS_TOTAL, 4)


def primary_contact(contacts):
    for c in contacts or ():
        if c.get("is_primary"):
            return c
    return None


def normalise_contacts(contacts):
    """Exactly one primary contact: a single contact becomes primary.
    Returns (contacts, error message or None)."""
    contacts = [dict(c) for c in contacts or ()]
    if not contacts:
        return contacts, "at least one contact (the primary contact) is required"
    primaries = [c for c in contacts if c.get("is_primary")]
    if not primaries and len(contacts) == 1:
        contacts[0]["is_primary"] = True
        primaries = contacts
    if len(primaries) != 1:
        return contacts, "exactly one contact must be the primary contact"
    p = primaries[0]
    missing = [k for k in ("name", "title", "mobile") if not _filled(p.get(k))]
    if missing:
        return contacts, f"the primary contact needs {', '.join(missing)}"
    return contacts, None


# --- tier windows ---------------------------------------------------------------
# KPIS.md's "orders in the last 12 months" and "cooperation >= N years" are calendar terms,
# counted on dates in CRM_TIMEZONE (config.yml takes it from the environment; default
# Asia/Shanghai), not on the UTC date and not as 365 / 365.25 days:
# * cooperation years are the completed calendar years from the first day of cooperation
#   (dateutil.relativedelta): since 2023-02-28 is 3 years on 2026-02-28; since a 29 February
#   a year completes on 28 February of a common year (2024-02-29 -> 1 year on 2025-02-28),
#   the same rule as a 29 February birthday's greeting;
# * the last 12 months on local date D are the dates after D minus 12 months up to D:
#   on 2026-12-07 from 2025-12-08 00:00 local time (2025-12-07 16:00 UTC).
DEFAULT_TZ = "Asia/Shanghai"


def crm_zone(name=None):
    return ZoneInfo(name or os.environ.get("CRM_TIMEZONE") or DEFAULT_TZ)


def local_date(when, zone=None):
    """The calendar date of the aware datetime ``when`` in CRM_TIMEZONE."""
    return when.astimezone(zone or crm_zone()).date()


def cooperation_years(since, today):
    """Completed calendar years from ``since`` to ``today`` (dates), 0 if none."""
    if since is None or today <= since:
        return 0
    return relativedelta(today, since).years


def tier_window_start(now, zone=None):
    """The first instant (UTC) of the last 12 months ending on ``now``'s local date."""
    zone = zone or crm_zone()
    first = local_date(now, zone) - relativedelta(years=1) + dt.timedelta(days=1)
    return dt.datetime.combine(first, dt.time(), zone).astimezone(dt.timezone.utc)


def compute_tier(orders_12m, coop_years, influence):
    """KPIS.md tier rule. ``orders_12m`` in yuan (Decimal)."""
    amount = Decimal(orders_12m or 0)
    influence = influence or 0
    if amount >= Decimal(1_000_000) or (
            amount >= Decimal(300_000) and coop_years >= 3 and influence >= 4):
        return "strategic"
    if amount >= Decimal(200_000) or coop_years >= 2:
        return "key"
    return "normal"


def mask_contact(contact):
    out = dict(contact)
    for key, fn in MASKED_CONTACT_KEYS.items():
        if out.get(key):
            out[key] = fn(out[key])
    return out


def _jsonable(value):
    if isinstance(value, (Decimal, dt.date, dt.datetime)):
        return str(value)
    return value


def diff(before, after, fields):
    """[{field, before, after}] for fields whose value changed; contacts masked."""
    changes = []
    for f in fields:
        b, a = before.get(f), after.get(f)
        if b == a:
            continue
        if f == "contacts":
            b = [mask_contact(c) for c in b or []]
            a = [mask_contact(c) for c in a or []]
        changes.append({"field": f, "before": _jsonable_deep(b), "after": _jsonable_deep(a)})
    return changes


def diff_created(after, fields):
    """``diff({}, after, fields)`` of a record just made (everything is new), without
    comparing each field to nothing: the same entries in the same order."""
    changes = []
    for f in fields:
        a = after.get(f)
        if a is None:
            continue
        if f == "contacts":
            changes.append({"field": f, "before": [],
                            "after": _jsonable_deep([mask_contact(c) for c in a])})
        else:
            changes.append({"field": f, "before": None, "after": _jsonable_deep(a)})
    return changes


_PLAIN = frozenset((str, int, float, bool, type(None)))  # JSON as they are


def _jsonable_deep(value):
    if type(value) in _PLAIN:  # most values (an import's history: ~15 a row)
        return value
    if isinstance(value, list):
        return [_jsonable_deep(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable_deep(v) for k, v in value.items()}
    return _jsonable(value)


GENESIS = "0" * 64


def chain_hash(prev_hash, entry):
    """sha256 over the previous hash and the canonical JSON of the entry."""
    canonical = json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def history_payload(customer_id, seq, operator_id, at, action, changes):
    return {"customer_id": customer_id, "seq": seq, "operator_id": operator_id,
            "at": at.astimezone(dt.timezone.utc).isoformat(), "action": action,
            "changes": changes}


def attachment_type(filename, content):
    """Content type for an allowed attachment, else (None, message)."""
    name = (filename or "").lower()
    ext = name[name.rfind("."):] if "." in name else ""
    if ext not in ATTACHMENT_TYPES:
        return None, "only .pdf and .jpg files are accepted"
    ctype, magics = ATTACHMENT_TYPES[ext]
    if not any(content.startswith(m) for m in magics):
        return None, f"file content is not a {ext[1:].upper()} (checked by content)"
    return ctype, None


def type_after_order(current_type):
    """A potential customer who places an order becomes a closed (成交) customer."""
    return "closed" if current_type == "potential" else current_type
