"""Errors customers declares (the kit's, registered for RPC callers)."""
from services.common.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, ValidationError

EXPECTED = (ValidationError, NotFound, Conflict, Forbidden, PayloadTooLarge)

__all__ = ["Conflict", "Forbidden", "NotFound", "PayloadTooLarge", "ValidationError",
           "EXPECTED"]
