"""Forecast (weighted pipeline by owner and by stage: table + server-side SVG chart,
offline) and channel analysis (per lead source and per campaign) for a chosen period."""
import re

import pygal
from pygal.style import Style

from services.common.errors import ValidationError
from services.common.web.forms import Form
from services.common.web.pages import page, page_context
from services.sales.pages_base import SalesPageBase, current_period, period_options, person

_NOISE = re.compile(r"<!--.*?-->|<script\b.*?</script>", re.S)


def axis_label(value):
    """The value axis in money style: 1,300,000 (whole yuan), 0.5 where a step is small."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def bar_svg(title, labels, series):
    """A pygal bar chart as inline SVG without pygal's script (works offline)."""
    config = pygal.Config(js=[], disable_xml_declaration=True, width=640, height=320,
                          legend_at_bottom=True, print_values=False, no_data_text="—",
                          truncate_label=-1, x_label_rotation=0 if len(labels) <= 4 else 20,
                          margin_bottom=24, value_formatter=axis_label,
                          style=Style(font_family="sans-serif", background="white",
                                      plot_background="white",
                                      colors=("#0969da", "#1a7f37", "#bf8700")))
    chart = pygal.Bar(config, title=title)
    chart.x_labels = labels
    for name, values in series:
        chart.add(name, values, formatter=lambda v: f"¥{v:,.2f}")
    return _NOISE.sub("", chart.render(is_unicode=True))


class ReportPages(SalesPageBase):
    def _period(self, request):
        form = Form(request)
        if not form.value("period"):
            form.values["period"] = current_period(self.container_config)
        return form

    @page("GET", "/app/forecast")
    def forecast_page(self, request):
        t = page_context(request).t
        form = self._period(request)
        data, charts = None, {}
        try:
            data = self.call(self.sales, "forecast", form.value("period"))
        except ValidationError as exc:
            form.with_errors(exc)
        if data:
            charts["owner"] = bar_svg(t("sales.forecast.by_owner"),
                                      [person(b["owner_id"], t) for b in data["by_owner"]],
                                      [(t("sales.opp.amount"), [float(b["amount"]) for b in
                                                                data["by_owner"]]),
                                       (t("sales.opp.weighted"),
                                        [float(b["weighted_amount"]) for b in data["by_owner"]])])
            charts["stage"] = bar_svg(t("sales.forecast.by_stage"),
                                      [t("sales.stage." + b["stage"]) for b in data["by_stage"]],
                                      [(t("sales.opp.amount"), [float(b["amount"]) for b in
                                                                data["by_stage"]]),
                                       (t("sales.opp.weighted"),
                                        [float(b["weighted_amount"]) for b in data["by_stage"]])])
        return self.sales_page(request, "sales/forecast.html", form=form, data=data,
                               charts=charts,
                               periods=period_options(self.container_config,
                                                      form.value("period"), ahead=12),
                               page_title=t("sales.forecast.title"))

    @page("GET", "/app/channels")
    def channels_page(self, request):
        t = page_context(request).t
        form = self._period(request)
        data, chart = None, None
        try:
            data = self.call(self.sales, "channel_analysis", form.value("period"))
        except ValidationError as exc:
            form.with_errors(exc)
        if data:
            chart = bar_svg(t("sales.channels.won_by_source"),
                            [t("sales.source." + r["source"]) for r in data["by_source"]],
                            [(t("sales.channels.won_amount"),
                              [float(r["won_amount"]) for r in data["by_source"]])])
        return self.sales_page(request, "sales/channels.html", form=form, data=data,
                               chart=chart,
                               periods=period_options(self.container_config,
                                                      form.value("period")),
                               page_title=t("sales.channels.title"))
