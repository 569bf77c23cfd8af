"""The service's field messages (English, from the schemas and validators) in the
page's language: zh-CN pages show them in Chinese, English pages as they are; an
unknown message is shown unchanged. (Generic marshmallow messages + this service's.)"""
import re

GENERIC = (
    (r"^Missing data for required field\.$", "required"),
    (r"^Field may not be null\.$", "required"),
    (r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$", "length"),
    (r"^Longer than maximum length (?P<max>\d+)\.$", "too_long"),
    (r"^Shorter than minimum length (?P<min>\d+)\.$", "too_short"),
    (r"^Must be one of:", "choice"),
    (r"^Must be greater than or equal to (?P<min>[\d.]+) and less than or equal to "
     r"(?P<max>[\d.]+)\.$", "between"),
    (r"^Not a valid (integer|number|decimal)", "number"),
    (r"^Not a valid date\.$", "date"),
    (r"^Not a valid datetime\.$", "datetime"),
    (r"^Not a valid email address\.$", "email"),
    (r"^Unknown field\.$", "unknown"),
    (r"SENSITIVE_DATA", "sensitive"),
    (r"^mobile must", "mobile"),
    (r"decimal places", "money"),
    (r"GB/T 4754", "industry"),
)


def compile_patterns(prefix, own=()):
    return [(re.compile(p), f"{prefix}.err.{key}") for p, key in (*own, *GENERIC)]


def translate(patterns, message, t, lang):
    if lang == "en" or not isinstance(message, str):
        return message
    for pattern, key in patterns:
        found = pattern.search(message)
        if found:
            return t(key, **found.groupdict())
    return message


def translate_fields(patterns, fields, t, lang):
    """{field: [messages] | {sub: ...}} with each message translated."""
    if isinstance(fields, dict):
        return {k: translate_fields(patterns, v, t, lang) for k, v in fields.items()}
    if isinstance(fields, (list, tuple)):
        return [translate_fields(patterns, v, t, lang) for v in fields]
    return translate(patterns, fields, t, lang)


PATTERNS = compile_patterns("mk", (
    (r"^must be after starts_at", "window"),
    (r"^required before the campaign can be scheduled", "schedule_needs"),
    (r"^an offline campaign needs a location", "location_needed"),
    (r"^a contact needs a mobile or an email", "reach_needed"),
    (r"^give either customer_id or contact", "one_of"),
    (r"^no changes given", "no_changes"),
))


def errors(ctx, exc_or_fields):
    """A ValidationError's fields (or a fields dict) in the page's language."""
    fields = getattr(exc_or_fields, "fields", exc_or_fields)
    return translate_fields(PATTERNS, fields, ctx.t, ctx.lang)
