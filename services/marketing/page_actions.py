"""State changes on the campaign page, each a POST form (CSRF-checked by the kit):
schedule / launch / complete / cancel, milestones, participants (register a
customer or a contact, check in), feedback and leads for sales. A validation
error re-renders the campaign page with the message next to its field."""
from services.common.errors import ValidationError
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect
from services.marketing import page_owners
from services.marketing.page_messages import errors
from services.marketing.pages import BASE, milestone_owners


def _errors(ctx, form, exc, prefix="", rename=None):
    rename = rename or {}
    form.with_errors({rename.get(k, f"{prefix}{k}"): v for k, v in errors(ctx, exc).items()})
    return form


class CampaignActionPages:
    """POST /app/campaigns/<id>/... (mixed into MarketingGateway)."""

    def _done(self, ctx, campaign_id, key, anchor=""):
        return redirect(f"{BASE}/{campaign_id}{anchor}", flash=ctx.t(f"mk.flash.{key}"),
                        kind="success")

    def _state(self, request, campaign_id, method, key, *args):
        ctx = page_context(request)
        self.call(self.marketing, method, campaign_id, *args)
        return self._done(ctx, campaign_id, key)

    @page("POST", BASE + "/<int:campaign_id>/schedule")
    def schedule_page(self, request, campaign_id):
        ctx = page_context(request)
        try:
            self.call(self.marketing, "schedule_campaign", campaign_id)
        except ValidationError as exc:  # the plan is not complete yet
            return self.campaign_view(ctx, campaign_id, form=_errors(ctx, Form(request), exc),
                                      status=422)
        return self._done(ctx, campaign_id, "scheduled")

    @page("POST", BASE + "/<int:campaign_id>/launch")
    def launch_page(self, request, campaign_id):
        return self._state(request, campaign_id, "launch_campaign", "launched")

    @page("POST", BASE + "/<int:campaign_id>/complete")
    def complete_page(self, request, campaign_id):
        """Complete, with the actual cost typed next to the button (the ROI needs it and
        it cannot change once the campaign is over)."""
        ctx = page_context(request)
        form = Form(request)
        cost = (form.value("cost") or "").strip()
        if cost:
            campaign = self.call(self.marketing, "get_campaign", campaign_id)
            if cost != str(campaign.get("cost")):
                try:
                    self.call(self.marketing, "update_campaign", campaign_id, {"cost": cost})
                except ValidationError as exc:
                    return self.campaign_view(ctx, campaign_id, form=_errors(ctx, form, exc),
                                              status=422)
        self.call(self.marketing, "complete_campaign", campaign_id)
        return self._done(ctx, campaign_id, "completed")

    @page("POST", BASE + "/<int:campaign_id>/cancel")
    def cancel_page(self, request, campaign_id):
        ctx = page_context(request)
        form = Form(request)
        try:
            self.call(self.marketing, "cancel_campaign", campaign_id,
                      (form.value("reason") or "").strip())
        except ValidationError as exc:
            return self.campaign_view(ctx, campaign_id, form=_errors(ctx, form, exc), status=422)
        return self._done(ctx, campaign_id, "cancelled")

    # --- milestones ---------------------------------------------------------------------
    @page("POST", BASE + "/<int:campaign_id>/milestones")
    def add_milestone_page(self, request, campaign_id):
        ctx = page_context(request)
        form = Form(request)
        data = {k: (form.value(f"milestone.{k}") or "").strip()
                for k in ("title", "owner_id", "due_date")}
        listed = milestone_owners(ctx, self.call(self.marketing, "get_campaign", campaign_id))
        if not page_owners.check(form, "milestone.owner_id", listed, ctx.t):
            return self.campaign_view(ctx, campaign_id, form=form, status=422)
        try:
            self.call(self.marketing, "add_milestone", campaign_id, data)
        except ValidationError as exc:
            return self.campaign_view(ctx, campaign_id, form=_errors(ctx, form, exc, "milestone."),
                                      status=422)
        return self._done(ctx, campaign_id, "milestone_added", "#milestones")

    @page("POST", BASE + "/<int:campaign_id>/milestones/<int:milestone_id>/done")
    def complete_milestone_page(self, request, campaign_id, milestone_id):
        ctx = page_context(request)
        self.call(self.marketing, "complete_milestone", campaign_id, milestone_id)
        return self._done(ctx, campaign_id, "milestone_done", "#milestones")

    # --- participants -------------------------------------------------------------------
    @page("POST", BASE + "/<int:campaign_id>/participants")
    def register_page(self, request, campaign_id):
        ctx = page_context(request)
        form = Form(request)
        customer = (form.value("customer_id") or "").strip()
        if customer:
            participant = {"customer_id": int(customer) if customer.isdigit() else customer}
        else:
            contact = {k: (form.value(f"contact.{k}") or "").strip()
                       for k in ("name", "company", "mobile", "email", "title")}
            participant = {"contact": {k: v for k, v in contact.items()
                                       if v or k in ("name", "company")}}
        need = (form.value("need") or "").strip()
        if need:
            participant["need"] = need
        try:
            self.call(self.marketing, "register_participant", campaign_id, participant)
        except ValidationError as exc:
            return self.campaign_view(ctx, campaign_id, form=_errors(ctx, form, exc), status=422)
        return self._done(ctx, campaign_id, "registered", "#participants")

    @page("POST", BASE + "/<int:campaign_id>/participants/<int:participant_id>/check-in")
    def check_in_page(self, request, campaign_id, participant_id):
        ctx = page_context(request)
        self.call(self.marketing, "check_in", campaign_id, participant_id)
        return self._done(ctx, campaign_id, "checked_in", "#participants")

    @page("POST", BASE + "/<int:campaign_id>/participants/<int:participant_id>/feedback")
    def feedback_page(self, request, campaign_id, participant_id):
        ctx = page_context(request)
        form = Form(request)
        score = (form.value(f"score_{participant_id}") or "").strip()
        try:
            self.call(self.marketing, "record_feedback", campaign_id, participant_id,
                      int(score) if score.isdigit() else (score or None),
                      (form.value(f"comment_{participant_id}") or "").strip() or None)
        except ValidationError as exc:
            return self.campaign_view(ctx, campaign_id, form=_errors(
                ctx, form, exc, rename={"score": f"score_{participant_id}",
                                   "comment": f"comment_{participant_id}"}), status=422)
        return self._done(ctx, campaign_id, "feedback", "#participants")

    @page("POST", BASE + "/<int:campaign_id>/participants/<int:participant_id>/lead")
    def lead_page(self, request, campaign_id, participant_id):
        ctx = page_context(request)
        self.call(self.marketing, "generate_lead", campaign_id, participant_id)
        return self._done(ctx, campaign_id, "lead", "#participants")
