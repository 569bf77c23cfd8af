"""The opportunity page: amount, expected close, background, needs, competitors, stage
history with time in stage, follow-ups (schedule with a due time, complete with the
outcome), the activity log, win / lose with a reason, links to the customer and orders."""
from services.common.errors import ValidationError
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect
from services.sales.pages_base import CHANNELS, SalesPageBase, local_to_aware


def duration(seconds, t):
    """12345 → '3 小时 25 分钟' ('3 h 25 min' in English); days for long stays."""
    seconds = int(seconds or 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return t("sales.duration.days", d=days, h=hours)
    if hours:
        return t("sales.duration.hours", h=hours, m=minutes)
    return t("sales.duration.minutes", m=minutes)


class OpportunityPages(SalesPageBase):
    def _opportunity_page(self, request, opportunity_id, status=200, **forms):
        view = self.call(self.sales, "opportunity_view", opportunity_id)
        opp, t = view["opportunity"], page_context(request).t
        return self.sales_page(
            request, "sales/opportunity.html", status=status, opp=opp,
            follow_ups=view["follow_ups"], activities=view["activities"],
            orders=view["orders"], channels=CHANNELS, duration=lambda secs: duration(secs, t),
            fu_counts=view["counts"],
            fu_form=forms.get("follow_up") or Form(values={}),
            done_form=forms.get("complete") or Form(values={}),
            done_id=forms.get("done_id"),
            act_form=forms.get("activity") or Form(values={}),
            lose_form=forms.get("lose") or Form(values={}),
            page_title=opp["name"])

    @page("GET", "/app/opportunities/<int:opportunity_id>")
    def opportunity_page(self, request, opportunity_id):
        return self._opportunity_page(request, opportunity_id)

    def _act(self, request, opportunity_id, form_name, fn, flash_key, **extra):
        form = Form(request)
        try:
            fn(form)
        except ValidationError as exc:
            return self._opportunity_page(request, opportunity_id, 422,
                                          **{form_name: form.with_errors(exc)}, **extra)
        return redirect(f"/app/opportunities/{opportunity_id}",
                        flash=page_context(request).t(flash_key), kind="success")

    @page("POST", "/app/opportunities/<int:opportunity_id>/follow-ups")
    def schedule_follow_up_page(self, request, opportunity_id):
        return self._act(request, opportunity_id, "follow_up", lambda f: self.call(
            self.sales, "schedule_follow_up", opportunity_id,
            local_to_aware(f.value("due_at"), self.container_config),
            f.value("note").strip() or None), "sales.fu.scheduled")

    @page("POST", "/app/opportunities/<int:opportunity_id>/follow-ups/<int:follow_up_id>/complete")
    def complete_follow_up_page(self, request, opportunity_id, follow_up_id):
        return self._act(request, opportunity_id, "complete", lambda f: self.call(
            self.sales, "complete_follow_up", follow_up_id, f.value("outcome").strip()),
            "sales.fu.completed", done_id=follow_up_id)

    @page("POST", "/app/opportunities/<int:opportunity_id>/activities")
    def log_activity_page(self, request, opportunity_id):
        return self._act(request, opportunity_id, "activity", lambda f: self.call(
            self.sales, "log_activity", opportunity_id, f.value("channel"),
            f.value("summary").strip()), "sales.act.logged")

    @page("POST", "/app/opportunities/<int:opportunity_id>/lose")
    def lose_page(self, request, opportunity_id):
        return self._act(request, opportunity_id, "lose", lambda f: self.call(
            self.sales, "lose_opportunity", opportunity_id, f.value("reason").strip()),
            "sales.opp.lost_done")
