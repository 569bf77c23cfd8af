"""Errors sales declares (the kit's, registered for RPC callers)."""
from services.common.errors import Conflict, Forbidden, NotFound, ValidationError

EXPECTED = (ValidationError, NotFound, Conflict, Forbidden)

__all__ = ["Conflict", "Forbidden", "NotFound", "ValidationError", "EXPECTED"]
