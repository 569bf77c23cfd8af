"""reporting: KPIs, scorecards, churn watch and the managers' dashboard (service + gateway)."""
SERVICE = "services.reporting.service:ReportingService"
GATEWAY = "services.reporting.gateway:ReportingGateway"
