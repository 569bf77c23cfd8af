"""The sales workspace (8002): every page mixin, in one class SalesGateway inherits.

Pages call the same RPCs as the JSON routes, as the signed-in user: staff see and act
on exactly what ``sales`` lets them (someone else's lead / opportunity / order is the
404 page). Files: pages_day (My day), pages_leads, pages_rules, pages_pipeline,
pages_opportunity, pages_orders, pages_reports (forecast, channel analysis),
pages_exports (CSV / XLSX),
notify_pages (通知设置: where follow-up notices are mailed)."""
from services.sales.notify_pages import NotifyPages
from services.sales.pages_day import DayPages
from services.sales.pages_exports import ExportPages
from services.sales.pages_leads import LeadPages
from services.sales.pages_opportunity import OpportunityPages
from services.sales.pages_orders import OrderPages
from services.sales.pages_pipeline import PipelinePages
from services.sales.pages_reports import ReportPages
from services.sales.pages_rules import RulePages


class SalesPages(DayPages, LeadPages, RulePages, PipelinePages, OpportunityPages,
                 OrderPages, ReportPages, ExportPages, NotifyPages):
    """Mixed into SalesGateway."""
