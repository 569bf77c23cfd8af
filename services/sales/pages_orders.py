"""Orders: list with status filters, entry with lines (totals computed as the user types
by static/order_lines.js, the server's amount authoritative), change with before/after,
ship, payments with the balance (over-payment refused), cancel with a reason."""
from services.common.errors import Conflict, ValidationError
from services.common.web.forms import Form, flatten_errors
from services.common.web.pages import page, page_context, redirect
from services.sales.pages_base import (
    ORDER_STATUSES,
    PAGE_SIZE,
    SalesPageBase,
    is_manager,
    page_number,
    pages_for,
    query,
    staff_options,
)

ORDER_KEYS = ("status", "customer_id", "owner_id")
LINE_ROWS = 5
MAX_LINES = 200


def int_field(form, name, fields):
    value = form.value(name).strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        fields[name] = ["must be a number"]
        return None


def line_rows(form):
    try:
        return max(LINE_ROWS, min(int(form.value("rows") or LINE_ROWS), MAX_LINES))
    except ValueError:
        return LINE_ROWS


def lines_of(form):
    """lines.N.product / quantity / unit_price rows → lines (rows left empty dropped; the
    indices stay those of the form so errors land on the right row)."""
    lines = []
    for i in range(line_rows(form)):
        row = {k: form.value(f"lines.{i}.{k}").strip() for k in ("product", "quantity",
                                                                 "unit_price")}
        if any(row.values()):
            lines.append((i, row))
    return lines


def renumbered(exc, rows):
    """Errors of lines.<k> (k-th submitted line) → lines.<form row>."""
    fields = {}
    for key, msgs in flatten_errors(exc.fields or {}).items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit() \
                and int(parts[1]) < len(rows):
            parts[1] = str(rows[int(parts[1])])
        fields[".".join(parts)] = msgs
    return ValidationError(exc.message, fields)


def order_form(order):
    values = {"delivery_date": order.get("delivery_date") or "",
              "rows": str(max(LINE_ROWS, len(order["lines"]) + 2))}
    for i, ln in enumerate(order["lines"]):
        values.update({f"lines.{i}.product": ln["product"],
                       f"lines.{i}.quantity": ln["quantity"],
                       f"lines.{i}.unit_price": ln["unit_price"]})
    return Form(values=values)


class OrderPages(SalesPageBase):
    @page("GET", "/app/orders")
    def orders_page(self, request):
        ctx = page_context(request)
        form, manager = Form(request), is_manager(ctx)
        filters, bad = {}, {}
        if form.value("status"):
            filters["status"] = form.value("status")
        customer = int_field(form, "customer_id", bad)
        if customer:
            filters["customer_id"] = customer
        if manager and form.value("owner_id").strip():
            filters["owner_id"] = form.value("owner_id").strip()
        number = page_number(form)
        result = {"items": [], "total": 0}
        if bad:
            form.with_errors(bad)
        else:
            try:
                result = self.call(self.sales, "list_orders", filters, page=number,
                                   page_size=PAGE_SIZE)
            except ValidationError as exc:
                form.with_errors(exc)
        return self.sales_page(
            request, "sales/orders.html", form=form, result=result, page_no=number,
            pages=pages_for(result, number), statuses=ORDER_STATUSES, staff=staff_options(),
            query=query(form, ORDER_KEYS),
            page_url=lambda n: "/app/orders?" + query(form, ORDER_KEYS, page=n),
            page_title=ctx.t("sales.orders.title"))

    def _new_order_page(self, request, form, status=200):
        return self.sales_page(request, "sales/order_new.html", status=status, form=form,
                               rows=line_rows(form),
                               page_title=page_context(request).t("sales.orders.new"))

    @page("GET", "/app/orders/new")
    def new_order_page(self, request):
        return self._new_order_page(request, Form(request))

    @page("POST", "/app/orders/new")
    def create_order_page(self, request):
        form, bad = Form(request), {}
        rows = lines_of(form)
        data = {"customer_id": int_field(form, "customer_id", bad),
                "opportunity_id": int_field(form, "opportunity_id", bad),
                "lines": [r for _, r in rows],
                "delivery_date": form.value("delivery_date").strip() or None}
        if data["customer_id"] is None and "customer_id" not in bad:
            bad["customer_id"] = ["required"]
        if not rows:
            bad["lines.0.product"] = ["add at least one line"]
        try:
            if bad:
                raise ValidationError("Invalid input", bad)
            order = self.call(self.sales, "create_order",
                              {k: v for k, v in data.items() if v is not None})
        except ValidationError as exc:
            return self._new_order_page(request, form.with_errors(
                renumbered(exc, [i for i, _ in rows])), 422)
        return redirect(f"/app/orders/{order['id']}",
                        flash=page_context(request).t("sales.order.created"), kind="success")

    def _order_page(self, request, order_id, status=200, **forms):
        order = self.call(self.sales, "get_order", order_id)
        change = forms.get("change") or order_form(order)
        return self.sales_page(
            request, "sales/order.html", status=status, order=order, change_form=change,
            rows=line_rows(change), pay_form=forms.get("pay") or Form(values={}),
            cancel_form=forms.get("cancel") or Form(values={}),
            page_title=page_context(request).t("sales.order.id") + f" #{order_id}")

    @page("GET", "/app/orders/<int:order_id>")
    def order_page(self, request, order_id):
        return self._order_page(request, order_id)

    def _order_act(self, request, order_id, form_name, fn, flash_key):
        form = Form(request)
        try:
            fn(form)
        except ValidationError as exc:
            return self._order_page(request, order_id, 422, **{form_name: form.with_errors(exc)})
        except Conflict as exc:
            return redirect(f"/app/orders/{order_id}", kind="error",
                            flash=page_context(request).t("sales.order.refused",
                                                          reason=exc.message))
        return redirect(f"/app/orders/{order_id}",
                        flash=page_context(request).t(flash_key), kind="success")

    @page("POST", "/app/orders/<int:order_id>/change")
    def change_order_page(self, request, order_id):
        def change(form):
            rows = lines_of(form)
            changes = {"lines": [r for _, r in rows],
                       "delivery_date": form.value("delivery_date").strip() or None}
            try:
                self.call(self.sales, "change_order", order_id, changes)
            except ValidationError as exc:
                raise renumbered(exc, [i for i, _ in rows]) from None
        return self._order_act(request, order_id, "change", change, "sales.order.changed")

    @page("POST", "/app/orders/<int:order_id>/ship")
    def ship_order_page(self, request, order_id):
        return self._order_act(request, order_id, "pay", lambda f: self.call(
            self.sales, "ship_order", order_id), "sales.order.shipped")

    @page("POST", "/app/orders/<int:order_id>/payments")
    def payment_page(self, request, order_id):
        return self._order_act(request, order_id, "pay", lambda f: self.call(
            self.sales, "record_payment", order_id, f.value("amount").strip()),
            "sales.order.paid_done")

    @page("POST", "/app/orders/<int:order_id>/cancel")
    def cancel_order_page(self, request, order_id):
        return self._order_act(request, order_id, "cancel", lambda f: self.call(
            self.sales, "cancel_order", order_id, f.value("reason").strip()),
            "sales.order.cancelled")
