"""Managers merge another customer into the one on the detail page: the merged one
is named by its id or its USCC, a confirm step shows both records, then
``merge_customers(keep_id, merge_id)`` (docs/customers_duplicates.md). Staff see no
form; a POST from them is the 403 page before any call (nothing is looked up or
written)."""
import re

from services.common.errors import Forbidden, Merged, NotFound, ValidationError
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect, render
from services.customers.page_duplicates import follow_merged
from services.customers.pages import BASE, is_manager, tr

ITEM = BASE + "/<int:customer_id>"
USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
MAX_ID = 2 ** 31 - 1


class CustomerMerge:
    """Mixed into CustomersGateway with CustomerPages (``self.detail``)."""

    def _merge_target(self, ctx, keep_id, typed):
        """The customer ``typed`` names (id or USCC) or raises ValidationError on
        ``merge_id`` (missing, unknown, merged already, the kept customer itself)."""
        typed = (typed or "").strip().upper()
        if not typed:
            raise ValidationError("merge_id", {"merge_id": [ctx.t("customers.merge.missing")]})
        if typed.isdigit() and len(typed) < 18:
            merge_id = int(typed)
            if not 0 < merge_id <= MAX_ID:
                raise ValidationError("merge_id",
                                      {"merge_id": [ctx.t("customers.merge.not_found")]})
        elif USCC.match(typed):
            found = self.call(self.customers, "list_customers", {"q": typed}, page_size=5)
            ids = [c["id"] for c in found["items"] if c.get("uscc") == typed]
            if not ids:
                raise ValidationError("merge_id",
                                      {"merge_id": [ctx.t("customers.merge.not_found")]})
            merge_id = ids[0]
        else:
            raise ValidationError("merge_id", {"merge_id": [ctx.t("customers.merge.format")]})
        if merge_id == keep_id:
            raise ValidationError("merge_id", {"merge_id": [ctx.t("customers.merge.same")]})
        try:
            return self.call(self.customers, "get_customer", merge_id)
        except Merged as exc:
            raise ValidationError("merge_id", {"merge_id": [
                ctx.t("customers.merge.already", old=merge_id, new=exc.kept_id)]}) from None
        except NotFound:
            raise ValidationError("merge_id",
                                  {"merge_id": [ctx.t("customers.merge.not_found")]}) from None

    @page("POST", ITEM + "/merge")
    @follow_merged(BASE)
    def customer_merge_check_page(self, request, customer_id):
        """Step 1: find the other customer and show both for confirmation."""
        ctx = page_context(request)
        if not is_manager(ctx):
            raise Forbidden("managers only")
        keep = self.call(self.customers, "get_customer", customer_id)
        try:
            other = self._merge_target(ctx, customer_id, request.form.get("merge_id"))
        except ValidationError as exc:
            form = Form(request).with_errors(tr(ctx, exc.fields))
            return self.detail(ctx, customer_id, form=form, status=422)
        return render("customers/merge_confirm.html", keep=keep, other=other, base=BASE,
                      page_title=ctx.t("customers.merge.confirm_title"),
                      breadcrumbs=[(ctx.t("workspace.customers"), BASE),
                                   (keep["name"], f"{BASE}/{keep['id']}"),
                                   (ctx.t("customers.merge.confirm_title"), None)])

    @page("POST", ITEM + "/merge/confirm")
    @follow_merged(BASE)
    def customer_merge_page(self, request, customer_id):
        """Step 2: merge (the service checks the role again and both records)."""
        ctx = page_context(request)
        if not is_manager(ctx):
            raise Forbidden("managers only")
        typed = (request.form.get("merge_id") or "").strip()
        if not typed.isdigit() or len(typed) > 10:
            form = Form(request).with_errors({"merge_id": [ctx.t("customers.merge.format")]})
            return self.detail(ctx, customer_id, form=form, status=422)
        merge_id = int(typed)
        self.call(self.customers, "get_customer", customer_id)  # merged: follow_merged
        try:
            other = self.call(self.customers, "get_customer", merge_id)
            self.call(self.customers, "merge_customers", customer_id, merge_id)
        except Merged as exc:  # about the other record (or a race): not a redirect
            if exc.kept_id == customer_id:  # done already (a second click)
                return redirect(f"{BASE}/{customer_id}", flash=ctx.t(
                    "customers.merge.already", old=merge_id, new=customer_id), kind="info")
            form = Form(request).with_errors({"merge_id": [
                ctx.t("customers.merge.already", old=merge_id, new=exc.kept_id)]})
            return self.detail(ctx, customer_id, form=form, status=422)
        except NotFound:
            form = Form(request).with_errors({"merge_id": [ctx.t("customers.merge.not_found")]})
            return self.detail(ctx, customer_id, form=form, status=422)
        except ValidationError as exc:
            form = Form(request).with_errors(tr(ctx, exc.fields))
            return self.detail(ctx, customer_id, form=form, status=422)
        return redirect(f"{BASE}/{customer_id}", kind="success", flash=ctx.t(
            "customers.merge.done", name=other["name"], id=merge_id))
