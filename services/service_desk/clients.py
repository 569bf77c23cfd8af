"""service_desk's own timer and metrics.

(Calls to customers go through the kit's ``services.common.peers.SystemRpcProxy``:
service agents do not own customers, yet must check a ticket's customer exists
and read contacts' birthdays for care plans.)
"""
from nameko.timer import Timer as NamekoTimer
from prometheus_client import Counter, Gauge

OPEN_TICKETS = Gauge("crm_tickets_open", "Tickets not yet resolved, by severity", ["severity"])
SLA_BREACHES = Counter("crm_ticket_sla_breaches_total", "SLA breaches reported",
                       ["severity", "clock"])


class Timer(NamekoTimer):
    """nameko's @timer whose interval can be overridden by a config key
    (``SLA_CHECK_INTERVAL``) — tests run the SLA scan every fraction of a second."""

    def __init__(self, interval, config_key=None, **kwargs):
        self.config_key = config_key
        super().__init__(interval, **kwargs)

    def setup(self):
        if self.config_key and self.container.config.get(self.config_key):
            self.interval = float(self.container.config[self.config_key])


timer = Timer.decorator
