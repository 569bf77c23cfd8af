"""Payloads of the marketing service's events.

Minimal until the marketing issue lands: each event names the ids it is about.
The department's issue refines these schemas (only adding fields).
"""

from services.contract import EVENTS
from services.contract.events import Payload


class AnyPayload(Payload):
    pass


SCHEMAS = {t: AnyPayload for t in EVENTS["marketing"]}
