"""service_desk: tickets with SLAs, surveys, care plans and visits, FAQ (docs/service_desk.md)."""
SERVICE = "services.service_desk.service:ServiceDeskService"
GATEWAY = "services.service_desk.gateway:ServiceDeskGateway"
