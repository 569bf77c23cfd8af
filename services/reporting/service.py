"""reporting: cross-department KPIs from every event of the contract (nameko
service ``reporting``). Managers, admins and system callers only."""
import csv
import io

import eventlet

from services.common import metrics, paging
from services.common.handlers import PoisonEvent, event_handler
from services.common.models import utcnow
from services.common.schemas import load, page_args
from services.common.service import DomainService, declared_rpc
from services.common.uow import Database
from services.contract import AUDIT_SOURCES, REPORTED_EVENTS
from services.reporting import audit_anchor, channels, commands, domain, ranking
from services.reporting import repository as repo
from services.reporting.batching import GroupCommitProvider
from services.reporting.exceptions import EXPECTED, Forbidden, NotFound, ValidationError
from services.reporting.models import Base
from services.reporting.receipt import Receipt
from services.reporting.schemas import (
    CampaignIdSchema,
    KpiQuerySchema,
    ScorecardQuerySchema,
    StaffDepartmentSchema,
    TargetsInSchema,
)

HANDLER = "reporting.apply_event"


_rpc = declared_rpc(EXPECTED)


def _apply_event(self, envelope):
    """Apply any event of the contract: inbox + event log + facts + aggregates, in
    one transaction shared with the other events in flight (``batching``); the
    message is acked once that transaction has committed."""
    try:
        domain.entity_of(envelope)
    except (KeyError, TypeError) as exc:
        raise PoisonEvent(str(exc)) from None
    event_id = str(envelope["event_id"])
    self.group_commit.origins[event_id] = self.receipt
    try:
        result = self.group_commit.submit(envelope, self._apply_many)
    finally:
        self.group_commit.origins.pop(event_id, None)
    if result == commands.DUPLICATE:
        metrics.EVENTS_DUPLICATE.labels(self.name, HANDLER).inc()
    elif result is not None:
        metrics.EVENT_LAG.labels(self.name).observe(result)
        metrics.EVENTS_APPLIED.labels(self.name, HANDLER).inc()


for _source, _type in REPORTED_EVENTS:  # one queue per event of the contract
    _apply_event = event_handler(_source, _type)(_apply_event)


class ReportingService(DomainService):
    name = "reporting"

    db = Database(Base)
    group_commit = GroupCommitProvider()
    receipt = Receipt()

    apply_event = _apply_event

    # --- audit checkpoints and erasures (services.reporting.audit_anchor) ------------------
    def on_audit_checkpoint(self, envelope):
        """Keep a service's signed audit chain head (outside its database)."""
        with self.db.uow() as uow:
            if uow.already_applied(envelope):
                return
            audit_anchor.keep(uow.session, envelope["data"])
            uow.commit()

    for _source in AUDIT_SOURCES:
        on_audit_checkpoint = event_handler(_source, "audit_checkpoint")(on_audit_checkpoint)

    @event_handler("customers", "contact_erased")
    def on_contact_erased(self, envelope):
        """A contact person's data erased (PIPL): the event log forgets the name."""
        with self.db.uow() as uow:
            if uow.already_applied(envelope):
                return
            audit_anchor.erase(uow.session, envelope["data"])
            uow.commit()

    @_rpc
    def latest_audit_checkpoint(self, service):
        """The newest signed head ``service`` published (None if none yet), for
        ``crm audit verify``. Managers and system callers."""
        self._manager()
        service = load(audit_anchor.AuditServiceSchema(), {"service": service})["service"]
        with self.db.read_uow() as ro:
            return audit_anchor.latest(ro.session, service)

    def _apply_many(self, envelopes):
        with self.db.uow() as uow:
            origins = {str(e["event_id"]): self.group_commit.origins.get(str(e["event_id"]))
                       for e in envelopes}
            results = commands.apply_batch(uow.session, envelopes, self._tz(), handler=HANDLER,
                                           origins=origins)
            uow.commit()
        return results

    # --- helpers -------------------------------------------------------------------------
    def _tz(self):
        return self.config.get("CRM_TIMEZONE") or domain.DEFAULT_TZ

    def _manager(self):
        actor = self.actor.get()
        if not actor.is_manager:
            raise Forbidden("reporting is for managers")
        return actor

    def _kpi_args(self, period, scope):
        args = load(KpiQuerySchema(), {"period": period, "scope": scope})
        return args["period"], repo.Scope(args["scope"])

    # --- KPIs ----------------------------------------------------------------------------
    @_rpc
    def get_kpis(self, period, scope=None):
        """Every KPI of shared/KPIS.md for ``period`` ('2026-11', '2026-Q4', '2026')
        and ``scope`` (None, {"owner_id": X} or {"department": D})."""
        self._manager()
        period, scope = self._kpi_args(period, scope)
        with self.db.uow() as uow:
            return repo.get_kpis(uow.session, period, scope, self._tz())

    @_rpc
    def trend(self, period, scope=None, months=12):
        """KPIs (without campaigns) of each of the ``months`` months ending with the
        period's last month."""
        self._manager()
        period, scope = self._kpi_args(period, scope)
        if not isinstance(months, int) or not 1 <= months <= 36:
            raise ValidationError("Invalid input", {"months": ["between 1 and 36"]})
        with self.db.uow() as uow:
            return repo.trend(uow.session, domain.month_key(period.year, period.last_month),
                              scope, self._tz(), months)

    @_rpc
    def export_csv(self, period, scope=None):
        """The KPI table of a period as CSV text (kpi,value) plus the campaign table."""
        kpis = self.get_kpis(period, scope)
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["kpi", "value"])
        for key, value in kpis.items():
            if key == "tickets_new_by_kind":
                for kind, n in value.items():
                    w.writerow([f"tickets_new_by_kind.{kind}", n])
            elif key != "campaigns":
                w.writerow([key, "" if value is None else value])
        if kpis["campaigns"]:
            w.writerow([])
            cols = list(kpis["campaigns"][0])
            w.writerow(cols)
            for row in kpis["campaigns"]:
                w.writerow(["" if row[c] is None else row[c] for c in cols])
        return out.getvalue()

    @_rpc
    def kpis_by_source(self, period):
        """Sales channel KPIs of ``period`` from sales' events: for the leads created in
        the period (cut in CRM_TIMEZONE), per lead source and per campaign, leads,
        converted, won, lost, won_amount, conversion_rate, win_rate, avg_cycle_days —
        the figures of ``sales.channel_analysis`` (company scope), to the cent."""
        self._manager()
        period = load(KpiQuerySchema(), {"period": period})["period"]
        with self.db.read_uow() as uow:
            out = channels.by_source(uow.session, period, self._tz())
        return dict(out, period=period.label, timezone=self._tz())

    # --- scorecards ------------------------------------------------------------------------
    @_rpc
    def scorecard(self, employee_id, period, role=None):
        """Weighted score of one employee's KPIs against targets (KPIS.md)."""
        self._manager()
        args = load(ScorecardQuerySchema(), {"employee_id": employee_id, "period": period,
                                             "role": role})
        with self.db.uow() as uow:
            role = args["role"] or repo.staff_department(uow.session, args["employee_id"])
            if role not in domain.SCORECARD_KPIS:
                raise ValidationError("no scorecard for this employee's department",
                                      {"role": ["give role sales or service"]})
            return repo.scorecard(uow.session, args["employee_id"], role, args["period"],
                                  self._tz())

    @_rpc
    def scorecards(self, period):
        """Scorecards of every sales and service employee, best first."""
        self._manager()
        period = load(KpiQuerySchema(), {"period": period})["period"]
        with self.db.uow() as uow:
            return self._all_scorecards(uow.session, period)

    def _all_scorecards(self, session, period):
        """Scorecards of the staff of sales and service (managers are not staff:
        ``ranking.managers``), best first."""
        rows = repo.staff(session)
        leaders = ranking.managers(self.config, rows)
        cards = [repo.scorecard(session, s["employee_id"], role, period, self._tz())
                 for role in domain.SCORECARD_KPIS
                 for s in rows if s["department"] == role and s["employee_id"] not in leaders]
        return sorted(cards, key=lambda c: (c["score"] is None, -(c["score"] or 0),
                                            c["employee_id"]))

    @_rpc
    def my_scorecard(self, period):
        """The caller's own scorecard for ``period`` (any signed-in employee; staff see
        only their own). Role from the caller's department as reporting knows it (the
        events), else the token's; ``role`` None when that department has none."""
        actor = self.actor.get()
        if not actor.id or actor.is_system:
            raise Forbidden("a scorecard is an employee's own")
        period = load(KpiQuerySchema(), {"period": period})["period"]
        with self.db.read_uow() as uow:
            role = repo.staff_department(uow.session, actor.id)
            if role not in domain.SCORECARD_KPIS:
                role = actor.department if actor.department in domain.SCORECARD_KPIS else None
            if role is None:
                return {"employee_id": actor.id, "role": None, "period": period.label,
                        "score": None, "items": []}
            return repo.scorecard(uow.session, actor.id, role, period, self._tz())

    @_rpc
    def get_scorecard_targets(self, employee_id=None):
        """Effective targets and weights per role (defaults < everyone < employee)."""
        self._manager()
        with self.db.uow() as uow:
            return {role: {k: {"target": str(t), "weight": str(w)}
                           for k, (t, w) in repo.targets(uow.session, role, employee_id).items()}
                    for role in domain.SCORECARD_KPIS}

    @_rpc
    def set_scorecard_targets(self, targets, employee_id=None):
        """Managers set targets/weights: [{role, kpi, target, weight}] for everyone
        (employee_id None) or one employee."""
        actor = self._manager()
        args = load(TargetsInSchema(), {"targets": targets, "employee_id": employee_id})
        with self.db.uow() as uow:
            repo.put_targets(uow.session, args["employee_id"], args["targets"], actor.label)
            uow.commit()
        return self.get_scorecard_targets(args["employee_id"])

    @_rpc
    def list_staff(self, department=None):
        self._manager()
        with self.db.uow() as uow:
            return repo.staff(uow.session, department)

    @_rpc
    def set_staff_department(self, employee_id, department):
        """Managers place an employee in a department (overrides what events show)."""
        self._manager()
        args = load(StaffDepartmentSchema(), {"employee_id": employee_id,
                                              "department": department})
        with self.db.uow() as uow:
            commands.set_staff_department(uow.session, args["employee_id"], args["department"])
            uow.commit()
            return repo.staff(uow.session)

    # --- churn, campaigns, freshness ---------------------------------------------------
    @_rpc
    def churn_watchlist(self, page=1, page_size=20, cursor=None):
        """Closed customers with churn signals, highest risk first (risk, then
        customer_id) → {items, total, page, page_size, next_cursor, total_is_estimate}:
        pass ``next_cursor`` back as ``cursor`` for the rows after the last one shown,
        scored at the first page's time (``repository.watchlist_page``)."""
        self._manager()
        page, page_size = page_args(page, page_size)
        with self.db.read_uow() as ro:
            items, nxt, total, est = repo.watchlist_page(ro.session, utcnow(), page,
                                                         page_size, cursor)
        return paging.paged(items, total, page, page_size, nxt, est)

    @_rpc
    def campaign_report(self, campaign_id):
        """Participants, leads, conversions, won amount, cost and ROI of a campaign."""
        self._manager()
        cid = load(CampaignIdSchema(), {"campaign_id": str(campaign_id)
                                        if campaign_id is not None else None})["campaign_id"]
        with self.db.uow() as uow:
            report = repo.campaign_report(uow.session, cid)
        if report is None:
            raise NotFound(f"campaign {cid} not found")
        return report

    @_rpc
    def freshness(self):
        """Outbox-to-KPI lag of the most recent events applied."""
        self._manager()
        with self.db.uow() as uow:
            return repo.freshness(uow.session)

    @_rpc
    def dashboard(self, period, scope=None):
        """Everything the dashboard shows, in one call."""
        self._manager()
        period, scope = self._kpi_args(period, scope)
        tz = self._tz()
        with self.db.uow() as uow:
            s = uow.session
            cards = self._all_scorecards(s, period)
            top, bottom = ranking.top_bottom(cards)
            rankings = {}
            dept = (scope.to_dict() or {}).get("department")
            for role in domain.SCORECARD_KPIS:
                if dept and dept != role:  # a department's dashboard ranks its own staff
                    continue
                best, worst = ranking.top_bottom([c for c in cards if c["role"] == role])
                rankings[role] = {"top": best, "bottom": worst}
            items, total = repo.watchlist(s, utcnow(), 1, 10)
            return {
                "period": period.label, "scope": scope.to_dict(), "timezone": tz,
                "kpis": repo.get_kpis(s, period, scope, tz),
                "trend": repo.trend(s, domain.month_key(period.year, period.last_month),
                                    scope, tz),
                "funnel": repo.funnel(s, scope, period),
                "top_scorecards": top,  # company-wide; per department in "rankings"
                "bottom_scorecards": bottom,
                "rankings": rankings,
                "watchlist": {"items": items, "total": total},
                "freshness": repo.freshness(s),
                "channels": channels.by_source(s, period, tz),
            }

    # --- replay ----------------------------------------------------------------------------
    @_rpc
    def rebuild(self):
        """Wipe the read models and replay the event log (admins and system only)."""
        actor = self.actor.get()
        if not actor.is_admin:
            raise Forbidden("only admins may rebuild the read models")
        with self.db.uow() as uow:
            counts = commands.rebuild(uow.session, self._tz(), on_page=lambda: eventlet.sleep(0))
            uow.commit()
        return counts
