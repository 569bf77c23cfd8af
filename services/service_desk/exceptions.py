"""Errors service_desk declares (the kit's, registered for RPC callers)."""
from services.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationError,
)

EXPECTED = (ValidationError, NotFound, Conflict, Forbidden, PayloadTooLarge, ServiceUnavailable)

__all__ = ["Conflict", "Forbidden", "NotFound", "PayloadTooLarge", "ServiceUnavailable",
           "ValidationError", "EXPECTED"]
