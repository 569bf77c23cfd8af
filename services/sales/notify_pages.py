"""The 通知设置 page (/app/settings/notifications): where a salesperson's follow-up
notices are mailed (``set_notify_settings``; services/sales/notify_follow_ups.py)."""
from services.common.errors import ValidationError
from services.common.web.forms import Form
from services.common.web.pages import page, page_context, redirect
from services.sales.pages_base import SalesPageBase

PATH = "/app/settings/notifications"


class NotifyPages(SalesPageBase):
    def _notify_page(self, request, form, settings, status=200):
        return self.sales_page(request, "sales/notify_settings.html", status=status,
                               form=form, settings=settings,
                               page_title=page_context(request).t("sales.notify.title"))

    @page("GET", PATH)
    def notify_settings_page(self, request):
        settings = self.call(self.sales, "get_notify_settings")
        return self._notify_page(request, Form(values={"email": settings["email"] or ""}),
                                 settings)

    @page("POST", PATH)
    def save_notify_settings_page(self, request):
        form = Form(request)
        try:
            saved = self.call(self.sales, "set_notify_settings", form.value("email").strip())
        except ValidationError as exc:
            settings = self.call(self.sales, "get_notify_settings")
            return self._notify_page(request, form.with_errors(exc), settings, 422)
        ctx = page_context(request)
        if saved.get("remailed"):  # notices the old address never got: sent again
            return redirect(PATH, flash=ctx.t("sales.notify.saved_remailed",
                                              n=saved["remailed"]), kind="success")
        return redirect(PATH, flash=ctx.t("sales.notify.saved"), kind="success")
