"""The service's field messages (English, from the schemas and validators) in the
page's language. The kit's ``translate_fields`` does the walking and the generic
marshmallow messages (``field.err.*``); here only marketing's own."""
from services.common.web.field_messages import compile_patterns, translate_fields

PATTERNS = compile_patterns((
    (r"^must be after starts_at", "mk.err.window"),
    (r"^required before the campaign can be scheduled", "mk.err.schedule_needs"),
    (r"^an offline campaign needs a location", "mk.err.location_needed"),
    (r"^a contact needs a mobile or an email", "mk.err.reach_needed"),
    (r"^give either customer_id or contact", "mk.err.one_of"),
    (r"^no changes given", "mk.err.no_changes"),
    (r"SENSITIVE_DATA", "mk.err.sensitive"),
    (r"^mobile must", "mk.err.mobile"),
    (r"decimal places", "mk.err.money"),
    (r"GB/T 4754", "mk.err.industry"),
))


def errors(ctx, exc_or_fields):
    """A ValidationError's fields (or a fields dict) in the page's language."""
    fields = getattr(exc_or_fields, "fields", exc_or_fields)
    return translate_fields(fields, ctx.t, ctx.lang, PATTERNS)
