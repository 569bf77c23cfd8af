"""customers: the customer master record (service + department gateway)."""
SERVICE = "services.customers.service:CustomersService"
GATEWAY = "services.customers.gateway:CustomersGateway"
