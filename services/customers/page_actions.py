"""State changes from the customer detail page (POST forms with the CSRF token) and
the downloads (attachments, list exports) of the workspace."""
import base64

from werkzeug.wrappers import Response

from services.common.errors import PayloadTooLarge, ValidationError
from services.common.web.forms import Form, flatten_errors
from services.common.web.pages import page, page_context, redirect
from services.customers import export
from services.customers.domain import MAX_ATTACHMENT_BYTES
from services.customers.page_duplicates import follow_merged
from services.customers.pages import BASE, is_manager, list_filters, tr

ITEM = BASE + "/<int:customer_id>"


def _tags(text):
    return [t.strip() for t in str(text or "").replace("，", ",").split(",") if t.strip()]


class CustomerActions:
    """POST actions and downloads, mixed into CustomersGateway after CustomerPages."""

    def _back(self, ctx, customer_id, message):
        return redirect(f"{BASE}/{customer_id}", flash=ctx.t(message), kind="success")

    def _again(self, ctx, customer_id, request, exc, status=422, name=None):
        """The detail page again with the refused form's errors next to its field
        (``name``: the form's one input the errors belong to)."""
        fields = flatten_errors(tr(ctx, exc.fields)) or {"_form": [tr(ctx, exc.message)]}
        if name:
            fields = {name: [m for msgs in fields.values() for m in msgs]}
        return self.detail(ctx, customer_id, form=Form(request).with_errors(fields),
                           status=status)

    @page("POST", ITEM + "/tags")
    @follow_merged(BASE)
    def customer_tags_add_page(self, request, customer_id):
        ctx = page_context(request)
        try:
            self.call(self.customers, "add_tags", customer_id, _tags(request.form.get("tags")))
        except ValidationError as exc:
            return self._again(ctx, customer_id, request, exc, name="tags")
        return self._back(ctx, customer_id, "customers.tags.added")

    @page("POST", ITEM + "/tags/remove")
    @follow_merged(BASE)
    def customer_tags_remove_page(self, request, customer_id):
        ctx = page_context(request)
        try:
            self.call(self.customers, "remove_tags", customer_id,
                      _tags(request.form.get("tag")))
        except ValidationError as exc:
            return self._again(ctx, customer_id, request, exc, name="tags")
        return self._back(ctx, customer_id, "customers.tags.removed")

    @page("POST", ITEM + "/attachments")
    @follow_merged(BASE)
    def customer_attachment_upload_page(self, request, customer_id):
        """The same checks as the API: the service checks type by content and size."""
        ctx = page_context(request)
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise ValidationError("no file", {"file": [ctx.t("customers.attach.missing")]})
            content = upload.read(MAX_ATTACHMENT_BYTES + 1)  # one byte over: refused
            self.call(self.customers, "add_attachment", customer_id, upload.filename,
                      base64.b64encode(content).decode("ascii"))
        except (ValidationError, PayloadTooLarge) as exc:
            status = 413 if isinstance(exc, PayloadTooLarge) else 422
            return self._again(ctx, customer_id, request, exc, status=status, name="file")
        return self._back(ctx, customer_id, "customers.attach.added")

    @page("GET", ITEM + "/attachments/<int:attachment_id>")
    @follow_merged(BASE)
    def customer_attachment_download_page(self, request, customer_id, attachment_id):
        att = self.call(self.customers, "get_attachment", customer_id, attachment_id)
        return Response(base64.b64decode(att["content_b64"]), mimetype=att["content_type"],
                        headers={"Content-Disposition": export.disposition(att["filename"])})

    @page("POST", ITEM + "/lost")
    @follow_merged(BASE)
    def customer_lost_page(self, request, customer_id):
        ctx = page_context(request)
        try:
            self.call(self.customers, "mark_lost", customer_id,
                      request.form.get("reason_code") or None,
                      (request.form.get("note") or "").strip() or None)
        except ValidationError as exc:
            return self._again(ctx, customer_id, request, exc)
        return self._back(ctx, customer_id, "customers.lost.done")

    @page("POST", ITEM + "/reactivate")
    @follow_merged(BASE)
    def customer_reactivate_page(self, request, customer_id):
        ctx = page_context(request)
        self.call(self.customers, "reactivate", customer_id)
        return self._back(ctx, customer_id, "customers.reactivated")

    @page("POST", ITEM + "/owner")
    @follow_merged(BASE)
    def customer_owner_page(self, request, customer_id):
        ctx = page_context(request)
        try:
            self.call(self.customers, "set_owner", customer_id,
                      (request.form.get("owner_id") or "").strip())
        except ValidationError as exc:
            return self._again(ctx, customer_id, request, exc)
        return self._back(ctx, customer_id, "customers.owner.changed")

    def _export_filters(self, request):
        """The list page's filters; one the page cannot resolve is the 422 page."""
        ctx = page_context(request)
        form = Form(request)
        filters = list_filters(form, is_manager(ctx), ctx.t)
        if form.has_errors:
            raise ValidationError("bad filter", form.errors)
        return filters

    @page("GET", BASE + "/export.csv")
    def customers_export_csv_page(self, request):
        """The list as filtered on the page, streamed (see export.py)."""
        items = self._export_items(self._export_filters(request))
        return Response(export.csv_chunks(items), mimetype="text/csv",
                        headers={"Content-Disposition": export.disposition("customers.csv")},
                        direct_passthrough=True)

    @page("GET", BASE + "/export.xlsx")
    def customers_export_xlsx_page(self, request):
        path = export.xlsx_file(self._export_items(self._export_filters(request)))
        return Response(export.file_chunks(path), mimetype=export.XLSX_TYPE,
                        headers={"Content-Disposition": export.disposition("customers.xlsx")},
                        direct_passthrough=True)

