"""My day: the sales workspace's landing page (follow-ups due and overdue, new leads,
opportunities past their close date, orders waiting for shipment or payment)."""
from services.common.web.pages import page
from services.sales.pages_base import SalesPageBase


class DayPages(SalesPageBase):
    @page("GET", "/app/my-day")
    def my_day_page(self, request):
        day = self.call(self.sales, "my_day")
        return self.sales_page(request, "sales/day.html", day=day, fu_counts=day["counts"])
