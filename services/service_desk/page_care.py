"""Care (today's tasks with "record visit", care plans list + form) and the
root-cause page (counts over a period, improvement actions) of the service
workspace. Tasks are made by the service's timer: these pages only read them."""
import datetime as dt
from zoneinfo import ZoneInfo

from services.common.errors import ValidationError
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect, render
from services.service_desk import page_cursor
from services.service_desk.domain import CARE_KINDS, VISIT_CHANNELS
from services.service_desk.page_messages import errors
from services.service_desk.pages import choices, is_manager, options, people

CARE = "/app/care"
ROOT = "/app/root-causes"


def today(config):
    return dt.datetime.now(ZoneInfo(config.get("CRM_TIMEZONE") or "Asia/Shanghai")).date()


class CarePages:
    """Mixed into ServiceDeskGateway."""

    def _care_view(self, ctx, form, status=200):
        day = (form.value("date") or "").strip() or today(ctx.config).isoformat()
        try:
            due = self.call(self.desk, "due_care_tasks", day, True)
        except ValidationError as exc:
            form.with_errors(errors(ctx, exc))
            due = {"date": day, "items": []}
            status = 422
        return render("service_desk/care.html", status=status, form=form, due=due,
                      visit_channels=options(ctx.t, "sd.channel", VISIT_CHANNELS),
                      page_title=ctx.t("sd.care.title"),
                      breadcrumbs=[(ctx.t("workspace.service_desk"), "/app/tickets"),
                                   (ctx.t("sd.care.title"), None)])

    @page("GET", CARE)
    def care_page(self, request):
        return self._care_view(page_context(request), Form(request))

    @page("POST", CARE + "/tasks/<int:task_id>/visit")
    def visit_page(self, request, task_id):
        ctx = page_context(request)
        form = Form(request)
        sat = (form.value(f"satisfaction_{task_id}") or "").strip()
        try:
            self.call(self.desk, "record_visit", task_id,
                      (form.value(f"channel_{task_id}") or "").strip(),
                      (form.value(f"outcome_{task_id}") or "").strip(),
                      int(sat) if sat.isdigit() else (sat or None))
        except ValidationError as exc:
            form.with_errors({f"{k}_{task_id}": v for k, v in errors(ctx, exc).items()})
            form.values["date"] = form.value("date")
            return self._care_view(ctx, form, 422)
        return redirect(f"{CARE}?date={form.value('date') or ''}",
                        flash=ctx.t("sd.flash.visit"), kind="success")

    # --- plans ------------------------------------------------------------------------
    def _plans_view(self, ctx, form, status=200):
        paged = page_cursor.read_page(self, ctx, form, "list_care_plans", (None,),
                                      CARE + "/plans", keep=("customer_q",),
                                      newest_first=True)
        plans = paged["result"]
        q = (form.value("customer_q") or "").strip()
        found = self.call(self.desk, "search_customers", q[:100], 10) if q else []
        status = 422 if form.has_errors and status == 200 else status
        return render("service_desk/plans.html", status=status, form=form, plans=plans,
                      paged=paged, pager_id="plans",
                      found=found, kinds=options(ctx.t, "sd.care_kind", CARE_KINDS),
                      manager=is_manager(ctx), who=people(ctx.t),
                      page_title=ctx.t("sd.plans.title"),
                      breadcrumbs=[(ctx.t("workspace.service_desk"), "/app/tickets"),
                                   (ctx.t("sd.care.title"), CARE),
                                   (ctx.t("sd.plans.title"), None)])

    @page("GET", CARE + "/plans")
    def plans_page(self, request):
        return self._plans_view(page_context(request), Form(request))

    @page("POST", CARE + "/plans")
    def create_plan_page(self, request):
        ctx = page_context(request)
        form = Form(request)
        customer = (form.value("customer_id") or "").strip()
        kwargs = {}
        for key in ("start_date", "expiry_date", "note"):
            if (form.value(key) or "").strip():
                kwargs[key] = form.value(key).strip()
        interval = (form.value("interval_days") or "").strip()
        if interval:
            kwargs["interval_days"] = int(interval) if interval.isdigit() else interval
        if not customer.isdigit():
            form.add_error("customer_id", ctx.t("sd.new.pick_customer"))
            return self._plans_view(ctx, form, 422)
        try:
            self.call(self.desk, "create_care_plan", int(customer),
                      (form.value("kind") or "").strip(), **kwargs)
        except ValidationError as exc:
            form.with_errors(errors(ctx, exc))
            return self._plans_view(ctx, form, 422)
        return redirect(CARE + "/plans", flash=ctx.t("sd.flash.plan"), kind="success")

    # --- root causes ------------------------------------------------------------------
    def _root_view(self, ctx, form, status=200):
        period = (form.value("period") or "").strip() or today(ctx.config).strftime("%Y-%m")
        form.values["period"] = period
        try:
            report = self.call(self.desk, "root_causes", period)
        except ValidationError as exc:
            form.with_errors(errors(ctx, exc))
            report = None
            status = 422
        top = max((i["count"] for i in report["items"]), default=0) if report else 0
        return render("service_desk/root_causes.html", status=status, form=form, report=report,
                      top=top, who=people(ctx.t), **choices(ctx.t),
                      page_title=ctx.t("sd.root.title"),
                      breadcrumbs=[(ctx.t("workspace.service_desk"), "/app/tickets"),
                                   (ctx.t("sd.root.title"), None)])

    @page("GET", ROOT)
    def root_causes_page(self, request):
        return self._root_view(page_context(request), Form(request))

    @page("POST", ROOT + "/improvements")
    def root_improvement_page(self, request):
        ctx = page_context(request)
        form = Form(request)
        data = {"root_cause": (form.value("root_cause") or "").strip(),
                "action": (form.value("action") or "").strip()}
        if (form.value("department") or "").strip():
            data["department"] = form.value("department").strip()
        try:
            self.call(self.desk, "record_improvement", data)
        except ValidationError as exc:
            form.with_errors(errors(ctx, exc))
            return self._root_view(ctx, form, 422)
        return redirect(f"{ROOT}?period={form.value('period') or ''}",
                        flash=ctx.t("sd.flash.improvement"), kind="success")
