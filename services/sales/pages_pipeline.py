"""The pipeline board: opportunities as cards by stage with amount and weighted amount,
column totals, a next-stage button (a POST form; drag-and-drop only as enhancement),
illegal moves explained, managers filter by owner; each column pages on the server."""
from urllib.parse import urlencode

from services.common.errors import Conflict, ValidationError
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect
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
                               page_title=ctx.t("sales.pipeline.title"))

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
            return redirect(back, flash=t("sales.pipeline.illegal", reason=exc.message),
                            kind="error")
        return redirect(back, flash=t("sales.pipeline.moved", name=opp["name"],
                                      stage=t("sales.stage." + opp["stage"])), kind="success")
