"""The service's field messages (English, from the schemas and validators) in the
page's language: zh-CN pages show them in Chinese, English pages as they are.
An unknown message is shown unchanged."""
import re

# (pattern, message key); named groups become format arguments
PATTERNS = [(re.compile(p), key) for p, key in (
    (r"^Missing data for required field\.$", "customers.err.required"),
    (r"^Field may not be null\.$", "customers.err.required"),
    (r"unified social credit code must be exactly 18", "customers.err.uscc_length"),
    (r"unified social credit code must use upper-case", "customers.err.uscc_case"),
    (r"unified social credit code has a wrong check", "customers.err.uscc_check"),
    (r"unified social credit code|GB 32100", "customers.err.uscc"),
    (r"^mobile must", "customers.err.mobile"),
    (r"industry|GB/T 4754", "customers.err.industry"),
    (r"^Not a valid email address\.$", "customers.err.email"),
    (r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$", "customers.err.length"),
    (r"^Longer than maximum length (?P<max>\d+)\.$", "customers.err.too_long"),
    (r"^Shorter than minimum length (?P<min>\d+)\.$", "customers.err.too_short"),
    (r"^Not a valid (number|decimal|integer)", "customers.err.number"),
    (r"^Must be one of:", "customers.err.choice"),
    (r"^Must be greater than or equal to (?P<min>[\d.]+)", "customers.err.min"),
    (r"^exactly one contact must be the primary", "customers.err.one_primary"),
    (r"^at least one contact", "customers.err.one_contact"),
    (r"^the primary contact needs", "customers.err.primary_fields"),
    (r"SENSITIVE_DATA", "customers.err.sensitive"),
    (r"^already registered", "customers.err.uscc_taken"),
    (r"larger than 5 MB|limited to 5 MB", "customers.err.too_big"),
    (r"^only \.pdf and \.jpg", "customers.err.file_type"),
    (r"checked by content", "customers.err.file_content"),
    (r"^not valid base64", "customers.err.file_content"),
)]


def translate(message, t, lang):
    if lang == "en" or not isinstance(message, str):
        return message
    for pattern, key in PATTERNS:
        found = pattern.search(message)
        if found:
            return t(key, **found.groupdict())
    return message


def translate_fields(fields, t, lang):
    """{field: [messages] | {sub: ...}} with each message translated."""
    if isinstance(fields, dict):
        return {k: translate_fields(v, t, lang) for k, v in fields.items()}
    if isinstance(fields, (list, tuple)):
        return [translate_fields(v, t, lang) for v in fields]
    return translate(fields, t, lang)
