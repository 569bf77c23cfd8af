"""FAQ pages: the staff's editor (agents and managers write, edit, publish; top hits)
and the customers' self-service pages (no sign-in, published entries only, no
author, no contact data); and the customer's survey page reached by a signed,
single-use link (no sign-in: the token is the credential)."""
from services.common.actors import Actor
from services.common.errors import Conflict, NotFound, ValidationError
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect, render
from services.service_desk import page_cursor
from services.service_desk.domain import may_publish_faq
from services.service_desk.page_messages import errors
from services.service_desk.report_schemas import PublicFaqSchema

FAQ = "/app/faq"
PUBLIC_FAQ = "/app/public/faq"
SURVEY = "/app/survey"
PUBLIC_KEYS = tuple(PublicFaqSchema().fields)  # what customers see of an entry


def public(entry):
    return {k: entry.get(k) for k in PUBLIC_KEYS}


class FaqPages:
    """Mixed into ServiceDeskGateway."""

    # --- staff ------------------------------------------------------------------------
    def _faq_admin(self, ctx, form, status=200):
        status_filter = (form.value("status") or "").strip()
        filters = {"status": status_filter} if status_filter in ("draft", "published") else {}
        category = (form.value("category") or "").strip()[:32]
        if category:
            filters["category"] = category
        paged = page_cursor.read_page(self, ctx, form, "list_faqs", (filters,), FAQ,
                                      keep=tuple(filters), newest_first=True)
        faqs = paged["result"]
        top = self.call(self.desk, "top_faq", 10, None)
        status = 422 if form.has_errors and status == 200 else status
        return render("service_desk/faq_admin.html", status=status, form=form, faqs=faqs,
                      paged=paged, pager_id="faqs",
                      top=top, may_publish=may_publish_faq(Actor(ctx.actor)),
                      page_title=ctx.t("sd.faq.title"),
                      breadcrumbs=[(ctx.t("workspace.service_desk"), "/app/tickets"),
                                   (ctx.t("sd.faq.title"), None)])

    @page("GET", FAQ)
    def faq_admin_page(self, request):
        return self._faq_admin(page_context(request), Form(request))

    def _faq_form(self, ctx, form, faq_id=None, status=200):
        title = ctx.t("sd.faq.edit") if faq_id else ctx.t("sd.faq.new")
        return render("service_desk/faq_form.html", status=status, form=form, faq_id=faq_id,
                      page_title=title, breadcrumbs=[
                          (ctx.t("workspace.service_desk"), "/app/tickets"),
                          (ctx.t("sd.faq.title"), FAQ), (title, None)])

    @page("GET", FAQ + "/new")
    def faq_new_page(self, request):
        return self._faq_form(page_context(request), Form(values={}))

    @staticmethod
    def _faq_data(form):
        data = {k: (form.value(k) or "").strip() for k in ("question", "answer", "category",
                                                           "keywords")}
        if not data["keywords"]:
            data.pop("keywords")
        return data

    @page("POST", FAQ + "/new")
    def faq_create_page(self, request):
        ctx = page_context(request)
        form = Form(request)
        try:
            self.call(self.desk, "create_faq", self._faq_data(form))
        except ValidationError as exc:
            return self._faq_form(ctx, form.with_errors(errors(ctx, exc)), status=422)
        return redirect(FAQ, flash=ctx.t("sd.flash.faq_saved"), kind="success")

    @page("GET", FAQ + "/<int:faq_id>/edit")
    def faq_edit_page(self, request, faq_id):
        faq = self.call(self.desk, "get_faq", faq_id)
        form = Form(values={k: faq.get(k) or "" for k in ("question", "answer", "category",
                                                          "keywords")})
        return self._faq_form(page_context(request), form, faq_id)

    @page("POST", FAQ + "/<int:faq_id>/edit")
    def faq_update_page(self, request, faq_id):
        ctx = page_context(request)
        form = Form(request)
        try:
            self.call(self.desk, "update_faq", faq_id, self._faq_data(form))
        except ValidationError as exc:
            return self._faq_form(ctx, form.with_errors(errors(ctx, exc)), faq_id, status=422)
        return redirect(FAQ, flash=ctx.t("sd.flash.faq_saved"), kind="success")

    @page("POST", FAQ + "/<int:faq_id>/publish")
    def faq_publish_page(self, request, faq_id):
        ctx = page_context(request)
        self.call(self.desk, "publish_faq", faq_id)
        return redirect(FAQ, flash=ctx.t("sd.flash.faq_published"), kind="success")

    @page("POST", FAQ + "/<int:faq_id>/unpublish")
    def faq_unpublish_page(self, request, faq_id):
        ctx = page_context(request)
        self.call(self.desk, "unpublish_faq", faq_id)
        return redirect(FAQ, flash=ctx.t("sd.flash.faq_unpublished"), kind="success")

    # --- customers: self-service FAQ ------------------------------------------------------
    @page("GET", PUBLIC_FAQ, auth=False)
    def public_faq_page(self, request):
        ctx = page_context(request)
        form = Form(request)
        q = (form.value("q") or "").strip()[:100]
        if q:
            found = self.call(self.desk, "search_faq", q, None, 20)
            items, total = [public(f) for f in found["items"]], found["total"]
        else:
            items = [public(f) for f in self.call(self.desk, "top_faq", 20, None)]
            total = None
        return render("service_desk/public_faq.html", form=form, items=items, total=total,
                      q=q, page_title=ctx.t("sd.public.faq_title"))

    @page("GET", PUBLIC_FAQ + "/<int:faq_id>", auth=False)
    def public_faq_article(self, request, faq_id):
        ctx = page_context(request)
        article = self.call(self.desk, "get_public_faq", faq_id)
        return render("service_desk/public_article.html", article=article,
                      page_title=article["question"],
                      breadcrumbs=[(ctx.t("sd.public.faq_title"), PUBLIC_FAQ),
                                   (article["question"], None)])

    # --- customers: the survey link --------------------------------------------------------
    def _survey_view(self, ctx, token, form=None, status=200, done=False):
        try:
            info = self.call(self.desk, "survey_link_info", token)
        except NotFound:
            info = {"state": "invalid"}
            status = 404
        if info["state"] in ("used", "expired") and not done:
            status = 410
        return render("service_desk/public_survey.html", status=status, info=info,
                      token=token, done=done, form=form or Form(values={}),
                      page_title=ctx.t("sd.public.survey_title"))

    @page("GET", SURVEY + "/<token>", auth=False)
    def public_survey_page(self, request, token):
        return self._survey_view(page_context(request), token)

    @page("POST", SURVEY + "/<token>", auth=False, max_body=16 * 1024)
    def public_survey_submit(self, request, token):
        ctx = page_context(request)
        form = Form(request)
        score = (form.value("score") or "").strip()
        try:
            self.call(self.desk, "answer_survey_link", token,
                      int(score) if score.isdigit() else (score or None),
                      (form.value("comment") or "").strip() or None)
        except ValidationError as exc:
            return self._survey_view(ctx, token, form.with_errors(errors(ctx, exc)), 422)
        except Conflict:
            return self._survey_view(ctx, token)
        return self._survey_view(ctx, token, done=True)
