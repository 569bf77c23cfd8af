"""The assignment rules page (managers): the ordered rule list as rows of a form."""
from services.common.errors import ValidationError
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect
from services.sales.pages_base import SOURCES, SalesPageBase, staff_options

KINDS = ("region", "industry", "named", "round_robin")
SPARE_ROWS = 3
# every single-valued field of the RPC's rule (schemas.RuleSchema) besides kind; team is a
# list (one comma-separated box). A field left out here would be lost on save: a named
# rule "campaign 7 → u2" without its campaign_id catches every lead.
FIELDS = ("region", "industry_code", "source", "campaign_id", "customer_id",
          "customer_name", "owner_id")


def rules_to_form(rules):
    values = {}
    for i, r in enumerate(rules):
        for key in ("kind",) + FIELDS:
            if r.get(key) not in (None, ""):
                values[f"rules.{i}.{key}"] = str(r[key])
        if r.get("team"):
            values[f"rules.{i}.team"] = ", ".join(r["team"])
    return Form(values=values)


def form_to_rules(form, rows):
    rules = []
    for i in range(rows):
        kind = form.value(f"rules.{i}.kind").strip()
        if not kind:
            continue
        rule = {"kind": kind}
        for key in FIELDS:
            value = form.value(f"rules.{i}.{key}").strip()
            if value:
                rule[key] = value
        team = [m.strip() for m in form.value(f"rules.{i}.team").replace("，", ",").split(",")
                if m.strip()]
        if team:
            rule["team"] = team
        rules.append(rule)
    return rules


class RulePages(SalesPageBase):
    def _rules_page(self, request, form, rows, status=200):
        return self.sales_page(request, "sales/rules.html", status=status, form=form,
                               rows=rows, kinds=KINDS, sources=SOURCES, staff=staff_options(),
                               page_title=page_context(request).t("sales.rules.title"))

    @page("GET", "/app/assignment-rules")
    def rules_page(self, request):
        rules = self.call(self.sales, "get_assignment_rules")["rules"]
        return self._rules_page(request, rules_to_form(rules), len(rules) + SPARE_ROWS)

    @page("POST", "/app/assignment-rules")
    def save_rules_page(self, request):
        form = Form(request)
        try:
            rows = max(0, min(int(form.value("rows") or 0), 100))
        except ValueError:
            rows = 0
        try:
            self.call(self.sales, "set_assignment_rules", form_to_rules(form, rows))
        except ValidationError as exc:
            return self._rules_page(request, form.with_errors(exc), rows, 422)
        return redirect("/app/assignment-rules",
                        flash=page_context(request).t("sales.rules.saved"), kind="success")
