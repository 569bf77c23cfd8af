"""Errors sales declares (the kit's, registered for RPC callers)."""
from services.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    ValidationError,
)

EXPECTED = (ValidationError, NotFound, Conflict, Forbidden, ServiceUnavailable)

__all__ = ["Conflict", "Forbidden", "NotFound", "ServiceUnavailable", "ValidationError",
           "EXPECTED"]
