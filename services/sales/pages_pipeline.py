"""The pipeline board: opportunities as cards by stage with amount and weighted amount,
column totals, a next-stage button (a POST form; drag-and-drop only as enhancement),
illegal moves explained, managers filter by owner; each column pages on the server."""
from urllib.parse import urlencode

from services.common.errors import Conflict, ValidationError
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect
from services.sales import domain
from services.sales.pages_base import (
    CLOSED,
    STAGES,
    SalesPageBase,
    is_manager,
    page_number,
    pages_of,
    staff_options,
)

COLUMN_SIZE = 10
CUSTOMER_CAP = 1000  # one customer's opportunities on its board (pages of 100)


def local_path(value, default="/app/pipeline"):
    """Only a local path is a place to go back to (no open redirect)."""
    value = value or ""
    return value if value.startswith("/app/") and "//" not in value else default


class PipelinePages(SalesPageBase):
    @page("GET", "/app/pipeline")
    def pipeline_page(self, request):
        ctx = page_context(request)
        form, manager = Form(request), is_manager(ctx)
        owner = form.value("owner_id").strip() if manager else ""
        pages = {s: page_number(form, f"p_{s}") for s in STAGES + CLOSED}
        customer_id = customer_of(form)
        if customer_id:  # the customers workspace's link: one customer's opportunities
            board = self._customer_board(customer_id, owner, pages)
        else:
            board = self.call(self.sales, "pipeline_board", owner or None, pages, COLUMN_SIZE)
        columns = [dict(col, pages=pages_of(col["total"], COLUMN_SIZE))
                   for col in board["columns"]]

        def column_url(stage, n):
            args = {k: v for k, v in form.values.items() if v and k != f"p_{stage}"}
            args[f"p_{stage}"] = n
            return "/app/pipeline?" + urlencode(args)
        return self.sales_page(request, "sales/pipeline.html", form=form, columns=columns,
                               fu_counts=board["counts"],
                               staff=staff_options(), column_url=column_url,
                               here=request.full_path.rstrip("?"), stages=STAGES,
                               customer_id=customer_id,
                               page_title=ctx.t("sales.pipeline.title"))

    def _customer_board(self, customer_id, owner, pages):
        """The board of one customer's opportunities (those the user may see, the
        owner filter kept): ``list_opportunities`` by customer_id, grouped here the
        way ``pipeline_board`` groups them (cards, column totals, pages)."""
        filters = {"customer_id": customer_id}
        if owner:
            filters["owner_id"] = owner
        items, number = [], 1
        while len(items) < CUSTOMER_CAP:
            got = self.call(self.sales, "list_opportunities", filters, page=number,
                            page_size=100)
            items += got["items"]
            if not got["items"] or len(items) >= got["total"]:
                break
            number += 1
        columns = []
        for stage in STAGES + CLOSED:
            mine = [o for o in items if o["stage"] == stage]
            p = domain.PROBABILITY[stage]
            amount = sum((domain.money(o["amount"]) for o in mine), domain.money(0))
            start = (pages.get(stage, 1) - 1) * COLUMN_SIZE
            cards = [{"id": o["id"], "name": o["name"], "stage": stage,
                      "amount": str(domain.money(o["amount"])),
                      "weighted_amount": str(domain.money(domain.money(o["amount"]) * p)),
                      "owner_id": o.get("owner_id"), "customer_id": o.get("customer_id"),
                      "expected_close_date": o.get("expected_close_date")}
                     for o in mine[start:start + COLUMN_SIZE]]
            columns.append({"stage": stage, "page": pages.get(stage, 1),
                            "page_size": COLUMN_SIZE, "total": len(mine), "items": cards,
                            "totals": {"count": len(mine), "amount": str(amount),
                                       "weighted_amount": str(domain.money(amount * p))}})
        return {"columns": columns, "counts": None}

    @page("POST", "/app/opportunities/<int:opportunity_id>/stage")
    def move_stage_page(self, request, opportunity_id):
        """Move a card; an illegal move (or a stale board) comes back as the service's
        reason in a message on the page the user came from."""
        form = Form(request)
        back = local_path(form.value("back"), f"/app/opportunities/{opportunity_id}")
        t = page_context(request).t
        target = form.value("stage")
        if target == "lost":  # losing needs a reason: the opportunity page asks for it
            return redirect(f"/app/opportunities/{opportunity_id}#lose",
                            flash=t("sales.pipeline.lose_needs_reason"), kind="warning")
        try:
            if target == "won":
                opp = self.call(self.sales, "win_opportunity", opportunity_id)
            else:
                opp = self.call(self.sales, "move_stage", opportunity_id, target)
        except (Conflict, ValidationError) as exc:
            reason = exc.message
            if getattr(exc, "code", None) == "ILLEGAL_TRANSITION":
                current = self.call(self.sales, "get_opportunity", opportunity_id)["stage"]
                reason = stage_reason(t, current, target) or reason
            return redirect(back, flash=t("sales.pipeline.illegal", reason=reason),
                            kind="error")
        return redirect(back, flash=t("sales.pipeline.moved", name=opp["name"],
                                      stage=t("sales.stage." + opp["stage"])), kind="success")


def stage_reason(t, current, target):
    """Why ``current`` → ``target`` is refused, in the user's language: the same rules as
    ``domain.stage_problem`` (which the service answers in English), else None."""
    if not domain.stage_problem(current, target):
        return None

    def name(stage):
        return t("sales.stage." + stage) if stage in domain.PROBABILITY else stage
    if current in CLOSED:
        return t("sales.move.closed", stage=name(current))
    if target == current:
        return t("sales.move.same", stage=name(current))
    if target == "won":
        return t("sales.move.win_from_negotiate", stage=name(current))
    if target not in STAGES:
        return t("sales.move.unknown", stage=target)
    return t("sales.move.one_step", current=name(current), target=name(target))


def customer_of(form):
    """``?customer_id=`` as a positive integer, else None (a bad one filters nothing)."""
    try:
        value = int(str(form.value("customer_id") or "").strip())
    except ValueError:
        return None
    return value if 0 < value < 2 ** 63 else None
