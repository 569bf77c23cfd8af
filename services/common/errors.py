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
        """What nameko sends as the error's text (``serialize`` uses ``str(exc)``),
        all a caller without this package sees (``RemoteError``): the code, the
        message and every field with its messages, e.g.
        ``VALIDATION_ERROR: Invalid input: uscc: wrong check character;
        contacts.0.mobile: not a valid mobile``. The gateways' JSON uses
        ``message`` and ``fields`` (``to_dict``), not this."""
        text = f"{self.code}: {self.message}" if self.message else self.code
        details = "; ".join(f"{path}: {msg}" for path, msg in field_messages(self.fields))
        return f"{text}: {details}" if details else text

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
class Merged(NotFound):
    """The record was merged into another one, which callers should use instead:
    ``kept_id`` (also in ``fields``, so the text reads ``MERGED: …: kept_id: 7``).
    A NotFound, so callers that treat a missing record as None keep working."""

    code = "MERGED"
    http_status = 410

    def __init__(self, message="", fields=None, code=None, kept_id=None):
        if kept_id is not None:
            fields = dict(fields or {}, kept_id=[str(kept_id)])
        super().__init__(message, fields, code)
        found = (self.fields.get("kept_id") or [None])[0]
        self.kept_id = int(found) if found is not None and str(found).isdigit() else found

    def to_dict(self):
        return dict(super().to_dict(), kept_id=self.kept_id)


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


@deserialize_to_instance
class Unauthorized(CrmError):
    """No valid identity: a gateway's missing/invalid token (401), or an RPC call
    without a verified ``authorization`` (services.common.bus_identity)."""

    code = "UNAUTHORIZED"
    http_status = 401


@deserialize_to_instance
class ServiceUnavailable(CrmError):
    """A dependency (broker, another service) did not answer in time: retry later.
    Gateways answer 503; services may raise it when a downstream RPC times out."""

    code = "SERVICE_UNAVAILABLE"
    http_status = 503


def field_messages(fields, prefix=""):
    """[(dotted path, message)] of a (nested) ``fields`` mapping, in its order;
    a field's list of messages gives one pair per message."""
    out = []
    if isinstance(fields, dict):
        for key, value in fields.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.extend(field_messages(value, path))
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, (dict, list, tuple)):
                        out.extend(field_messages(item, path))
                    else:
                        out.append((path, str(item)))
            else:
                out.append((path, str(value)))
    elif isinstance(fields, (list, tuple)):
        for item in fields:
            out.extend(field_messages(item, prefix))
    elif fields not in (None, ""):
        out.append((prefix or "_schema", str(fields)))
    return out


DECLARED = (ValidationError, NotFound, Merged, Conflict, Forbidden, PayloadTooLarge,
            ServiceUnavailable)


def validation_error(fields, message="Invalid input"):
    """Build a ValidationError from a {field: message|[messages]} mapping."""
    norm = {k: (v if isinstance(v, (list, dict)) else [v]) for k, v in fields.items()}
    return ValidationError(message, norm)
