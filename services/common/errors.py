"""Declared errors. Registered with nameko so RPC callers get the real type back.

Every error carries a stable ``code``, a human ``message`` and, for validation
errors, a ``fields`` mapping of field name -> list of messages.
"""
from nameko.exceptions import deserialize_to_instance


class CrmError(Exception):
    code = "ERROR"
    http_status = 500

    def __init__(self, message="", fields=None, code=None):
        super().__init__(message, fields or {}, code or self.code)
        self.message = message
        self.fields = fields or {}
        self.code = code or self.code

    def __str__(self):
        return self.message

    def to_dict(self):
        return {"error": self.code, "message": self.message, "fields": self.fields}


@deserialize_to_instance
class ValidationError(CrmError):
    code = "VALIDATION_ERROR"
    http_status = 422


@deserialize_to_instance
class NotFound(CrmError):
    code = "NOT_FOUND"
    http_status = 404


@deserialize_to_instance
class Conflict(CrmError):
    code = "CONFLICT"
    http_status = 409


@deserialize_to_instance
class Forbidden(CrmError):
    code = "FORBIDDEN"
    http_status = 403


@deserialize_to_instance
class PayloadTooLarge(CrmError):
    code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class Unauthorized(CrmError):
    """Raised by gateways only (never crosses the bus)."""

    code = "UNAUTHORIZED"
    http_status = 401


@deserialize_to_instance
class ServiceUnavailable(CrmError):
    """A dependency (broker, another service) did not answer in time: retry later.
    Gateways answer 503; services may raise it when a downstream RPC times out."""

    code = "SERVICE_UNAVAILABLE"
    http_status = 503


DECLARED = (ValidationError, NotFound, Conflict, Forbidden, PayloadTooLarge, ServiceUnavailable)


def validation_error(fields, message="Invalid input"):
    """Build a ValidationError from a {field: message|[messages]} mapping."""
    norm = {k: (v if isinstance(v, (list, dict)) else [v]) for k, v in fields.items()}
    return ValidationError(message, norm)
