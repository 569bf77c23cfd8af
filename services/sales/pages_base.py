"""What every sales page shares: the signed-in user's role, paging, the header's
follow-up count (rendered in the sales subnav), period options and dates in
CRM_TIMEZONE. Views live in ``pages_*.py``; templates in ``templates/sales/``."""
import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from services.common.web import directory
from services.common.web.pages import page_context, render

STAGES = ("qualify", "propose", "negotiate")
CLOSED = ("won", "lost")
NEXT_STAGE = {"qualify": "propose", "propose": "negotiate"}
SOURCES = ("trade_show", "website", "referral", "campaign", "phone", "other")
LEAD_STATUSES = ("new", "following_up", "converted", "disqualified")
ORDER_STATUSES = ("placed", "partially_paid", "paid", "shipped", "completed", "cancelled")
CHANNELS = ("phone", "email", "sms", "wechat", "visit", "meeting", "online")
PRICE_POSITIONS = ("lower", "similar", "higher")
PAGE_SIZE = 20


def is_manager(ctx):
    return ctx.is_manager  # the kit's PageContext: manager or admin


def tz_name(config):
    return (config or {}).get("CRM_TIMEZONE") or "Asia/Shanghai"


def today(config):
    return dt.datetime.now(ZoneInfo(tz_name(config))).date()


def page_number(form, key="page"):
    try:
        return max(1, min(int(form.value(key) or 1), 10 ** 6))
    except (TypeError, ValueError):
        return 1


def pages_of(total, size=PAGE_SIZE):
    return max(1, -(-int(total or 0) // size))


def pages_for(result, number, size=PAGE_SIZE):
    """Page links: from ``total`` when exact; from an estimated one (issue 20) only up to
    the next page, and only when ``next_cursor`` says more rows follow."""
    if result.get("total_is_estimate"):
        return number + 1 if result.get("next_cursor") else number
    return pages_of(result["total"], size)


def query(form, keys, **over):
    args = {k: form.value(k) for k in keys if form.value(k)}
    args.update({k: v for k, v in over.items() if v is not None})
    return urlencode(args)


def staff_options():
    """The sales staff of the directory (assignment, owner filters); free text also works."""
    return [(uid, f"{u['name']} ({uid})") for uid, u in directory.DEV_USERS.items()
            if u["department"] == "sales"]


def person(uid, t):
    """Who did it, for people: 'system' → 系统, a directory user → '王芳 (u1)', else the id."""
    if not uid:
        return "—"
    if uid == "system":
        return t("sales.system")
    entry = directory.DEV_USERS.get(uid)
    return f"{entry['name']} ({uid})" if entry else uid


def local_to_aware(value, config):
    """A datetime-local input ('2026-12-07T15:30') read in CRM_TIMEZONE → ISO with offset;
    anything else is passed on for the service to refuse with its own message."""
    value = (value or "").strip()
    try:
        naive = dt.datetime.fromisoformat(value)
    except ValueError:
        return value or None
    if naive.tzinfo is None:
        naive = naive.replace(tzinfo=ZoneInfo(tz_name(config)))
    return naive.isoformat()


def period_options(config, selected=None, ahead=0):
    """Months (the next ``ahead`` ones — a forecast looks forward —, this one and the 17
    before it), then quarters and years of next, this and last year (newest first)."""
    now = today(config)
    opts = []
    for i in range(-ahead, 18):
        m = (now.month - 1 - i) % 12 + 1
        y = now.year + (now.month - 1 - i) // 12
        opts.append(f"{y}-{m:02d}")
    for y in (now.year + 1, now.year, now.year - 1):
        opts += [f"{y}-Q{q}" for q in (4, 3, 2, 1)] + [str(y)]
    if selected and selected not in opts:
        opts.insert(0, selected)
    return opts


def current_period(config):
    d = today(config)
    return f"{d.year}-Q{(d.month - 1) // 3 + 1}"


def customer_url(config, customer_id):
    """The customer's page in the customers workspace (8001)."""
    base = directory.workspace_url(config, "customers").rstrip("/")
    return f"{base}/app/customers/{customer_id}"


def labelled(request):
    """opts(prefix, values) for templates: [(value, t(prefix + value))]."""
    t = page_context(request).t
    return lambda prefix, values: [(v, t(prefix + v)) for v in values]


class SalesPageBase:
    """Mixed into SalesGateway: ``self.sales`` is its RPC proxy."""

    web_home = "/app/my-day"

    def header_badges(self, actor):
        """The kit's header badge: the caller's overdue + due-today follow-ups,
        linking to My day (the counts a page's RPC already brought, else one indexed
        count; the kit drops it on an error or after its short timeout)."""
        counts = getattr(self, "_fu_counts", None)
        if counts is None:
            counts = self.call(self.sales, "follow_up_counts")
        overdue, today = int(counts.get("overdue") or 0), int(counts.get("due_today") or 0)
        return [{"label": "sales.badge.follow_ups", "count": overdue + today,
                 "href": "/app/my-day", "tone": "danger" if overdue else "warning",
                 "title": "sales.day.badge_hint", "args": {"overdue": overdue, "today": today},
                 "id": "due-badge"}]

    def sales_page(self, request, template, status=200, **ctx):
        """render() with what the sales layout needs. The follow-up counts a page's
        RPC brought are kept for the header badge (header_badges: one worker, one
        request)."""
        pc = page_context(request)
        counts = ctx.pop("fu_counts", None)
        if counts is not None:
            self._fu_counts = counts
        ctx.setdefault("manager", is_manager(pc))
        ctx.setdefault("opts", labelled(request))
        ctx.setdefault("customer_url", lambda cid: customer_url(self.container_config, cid))
        ctx.setdefault("person", lambda uid: person(uid, pc.t))
        return render(template, status=status, next_stage=NEXT_STAGE, **ctx)
