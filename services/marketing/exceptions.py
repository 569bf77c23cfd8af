"""Errors marketing declares: every declared error of the kit (registered for RPC callers)."""
from services.common.errors import (
    DECLARED,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationError,
)

EXPECTED = DECLARED

__all__ = ["Conflict", "Forbidden", "NotFound", "PayloadTooLarge", "ServiceUnavailable",
           "ValidationError", "EXPECTED"]
