"""Errors customers declares (the kit's, registered for RPC callers)."""
from services.common.errors import (
    Conflict,
    Forbidden,
    Merged,
    NotFound,
    PayloadTooLarge,
    ValidationError,
)

EXPECTED = (ValidationError, NotFound, Merged, Conflict, Forbidden, PayloadTooLarge)

__all__ = ["Conflict", "Forbidden", "Merged", "NotFound", "PayloadTooLarge", "ValidationError",
           "EXPECTED"]
