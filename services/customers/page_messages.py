"""The customers service's own field messages in the page's language.

The kit's ``translate_fields`` (services/common/web/field_messages.py) does the
work: these patterns first (USCC, mobile, industry, contacts, attachments), then
exact ``msg:`` catalogue entries, then the kit's generic marshmallow messages
("Missing data for required field.", "Length must be between 1 and 200." …, keys
``field.err.*``); an unknown message is shown unchanged, English pages show them
as they are."""
from services.common.web.field_messages import (
    compile_patterns,
    translate_message,
)
from services.common.web.field_messages import (
    translate_fields as kit_translate_fields,
)

# (pattern, message key); named groups become format arguments
PATTERNS = compile_patterns([
    (r"unified social credit code must be exactly 18", "customers.err.uscc_length"),
    (r"unified social credit code must use upper-case", "customers.err.uscc_case"),
    (r"unified social credit code has a wrong check", "customers.err.uscc_check"),
    (r"unified social credit code|GB 32100", "customers.err.uscc"),
    (r"^mobile must", "customers.err.mobile"),
    (r"industry|GB/T 4754", "customers.err.industry"),
    (r"^exactly one contact must be the primary", "customers.err.one_primary"),
    (r"^at least one contact", "customers.err.one_contact"),
    (r"^the primary contact needs", "customers.err.primary_fields"),
    (r"SENSITIVE_DATA", "customers.err.sensitive"),
    (r"^already registered", "customers.err.uscc_taken"),
    (r"larger than 5 MB|limited to 5 MB", "customers.err.too_big"),
    (r"^only \.pdf and \.jpg", "customers.err.file_type"),
    (r"checked by content", "customers.err.file_content"),
    (r"^not valid base64", "customers.err.file_content"),
])


def translate(message, t, lang):
    """One service message in ``lang``."""
    return translate_message(message, t, lang, PATTERNS)


def translate_fields(fields, t, lang):
    """{field: [messages] | {sub: ...}} with each message translated (shape kept)."""
    return kit_translate_fields(fields, t, lang, PATTERNS)
