"""sales: leads, opportunities, follow-ups, orders and forecast (service + gateway)."""
SERVICE = "services.sales.service:SalesService"
GATEWAY = "services.sales.gateway:SalesGateway"
