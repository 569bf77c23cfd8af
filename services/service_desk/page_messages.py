"""The service's field messages (English, from the schemas and validators) in the
page's language. The kit's ``translate_fields`` does the walking and the generic
marshmallow messages (``field.err.*``); here only the service desk's own."""
from services.common.web.field_messages import compile_patterns, translate_fields

PATTERNS = compile_patterns((
    (r"does not exist", "sd.err.no_customer"),
    (r"^not an active agent", "sd.err.not_agent"),
    (r"^required for contract_expiry", "sd.err.expiry_needed"),
    (r"^only for contract_expiry", "sd.err.expiry_only"),
    (r"^only for periodic_visit", "sd.err.interval_only"),
    (r"^staff can only create plans they own", "sd.err.own_plans"),
    (r"^YYYY-MM, YYYY-Qn", "sd.err.period"),
    (r"^YYYY-MM-DD$", "sd.err.date"),
    (r"SENSITIVE_DATA", "sd.err.sensitive"),
    (r"^mobile must", "sd.err.mobile"),
    (r"decimal places", "sd.err.money"),
    (r"GB/T 4754", "sd.err.industry"),
))


def errors(ctx, exc_or_fields):
    """A ValidationError's fields (or a fields dict) in the page's language."""
    fields = getattr(exc_or_fields, "fields", exc_or_fields)
    return translate_fields(fields, ctx.t, ctx.lang, PATTERNS)
