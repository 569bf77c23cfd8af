"""marketing: campaigns from plan to evaluation (service + department gateway)."""
SERVICE = "services.marketing.service:MarketingService"
GATEWAY = "services.marketing.gateway:MarketingGateway"
