"""State changes on the ticket page: each a POST form (CSRF-checked by the kit);
a validation error re-renders the ticket page with the message next to its field,
nothing written; success redirects back with a flash."""
from services.common.errors import ValidationError
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect
from services.service_desk.page_messages import errors
from services.service_desk.pages import BASE

# form field -> RPC argument, per action (names unique on the ticket page)
ACTIONS = {
    "respond": ("respond", (("message", "message"),)),
    "progress": ("add_progress", (("note", "note"), ("notify_customer", "notify_customer"))),
    "coordinate": ("add_coordination", (("department", "department"),
                                        ("coord_note", "note"))),
    "resolve": ("resolve_ticket", (("resolution", "resolution"), ("root_cause", "root_cause"))),
    "close": ("close_ticket", ()),
    "reopen": ("reopen_ticket", (("reason", "reason"),)),
    "assign": ("assign_ticket", (("assignee_id", "assignee_id"),)),
    "survey": ("submit_survey", (("score", "score"), ("survey_comment", "comment"))),
}


def _arg(form, field, arg):
    value = (form.value(field) or "").strip()
    if arg == "notify_customer":
        return value == "1"
    if arg == "score":
        return int(value) if value.isdigit() else (value or None)
    if arg == "assignee_id":
        return value or None
    return value if value else ("" if arg in ("message", "note", "resolution", "reason") else None)


class TicketActionPages:
    """POST /app/tickets/<id>/<action> (mixed into ServiceDeskGateway)."""

    def _act(self, request, ticket_id, action):
        ctx = page_context(request)
        form = Form(request)
        method, fields = ACTIONS[action]
        args = [_arg(form, field, arg) for field, arg in fields]
        try:
            self.call(self.desk, method, ticket_id, *args)
        except ValidationError as exc:
            back = {arg: field for field, arg in fields}
            form.with_errors({back.get(k, k): v for k, v in errors(ctx, exc).items()})
            return self.ticket_view(ctx, ticket_id, form=form, status=422)
        return redirect(f"{BASE}/{ticket_id}", flash=ctx.t(f"sd.flash.{action}"), kind="success")

    @page("POST", BASE + "/<int:ticket_id>/respond")
    def respond_page(self, request, ticket_id):
        return self._act(request, ticket_id, "respond")

    @page("POST", BASE + "/<int:ticket_id>/progress")
    def progress_page(self, request, ticket_id):
        return self._act(request, ticket_id, "progress")

    @page("POST", BASE + "/<int:ticket_id>/coordinate")
    def coordinate_page(self, request, ticket_id):
        return self._act(request, ticket_id, "coordinate")

    @page("POST", BASE + "/<int:ticket_id>/resolve")
    def resolve_page(self, request, ticket_id):
        return self._act(request, ticket_id, "resolve")

    @page("POST", BASE + "/<int:ticket_id>/close")
    def close_page(self, request, ticket_id):
        return self._act(request, ticket_id, "close")

    @page("POST", BASE + "/<int:ticket_id>/reopen")
    def reopen_page(self, request, ticket_id):
        return self._act(request, ticket_id, "reopen")

    @page("POST", BASE + "/<int:ticket_id>/assign")
    def assign_page(self, request, ticket_id):
        return self._act(request, ticket_id, "assign")

    @page("POST", BASE + "/<int:ticket_id>/survey")
    def survey_page(self, request, ticket_id):
        return self._act(request, ticket_id, "survey")

    @page("POST", BASE + "/<int:ticket_id>/survey-link")
    def survey_link_page(self, request, ticket_id):
        ctx = page_context(request)
        link = self.call(self.desk, "issue_survey_link", ticket_id, 14)
        url = request.host_url.rstrip("/") + link["path"]
        return self.ticket_view(ctx, ticket_id, link={"url": url,
                                                      "expires_at": link["expires_at"],
                                                      "mailed_to": link.get("mailed_to")})

    @page("POST", BASE + "/<int:ticket_id>/improvement")
    def improvement_page(self, request, ticket_id):
        ctx = page_context(request)
        form = Form(request)
        data = {"ticket_id": ticket_id, "root_cause": (form.value("improve_cause") or "").strip(),
                "action": (form.value("improve_action") or "").strip()}
        department = (form.value("improve_department") or "").strip()
        if department:
            data["department"] = department
        try:
            self.call(self.desk, "record_improvement", data)
        except ValidationError as exc:
            back = {"root_cause": "improve_cause", "action": "improve_action",
                    "department": "improve_department"}
            form.with_errors({back.get(k, k): v for k, v in errors(ctx, exc).items()})
            return self.ticket_view(ctx, ticket_id, form=form, status=422)
        return redirect(f"{BASE}/{ticket_id}", flash=ctx.t("sd.flash.improvement"),
                        kind="success")
