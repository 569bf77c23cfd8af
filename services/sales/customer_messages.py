"""The customers service's English field messages, as the conversion form shows them
(a prospect's customer fields are checked by customers: USCC, mobile, industry …)."""
from services.common.web.field_messages import compile_patterns, translate_fields

CUSTOMER_PATTERNS = compile_patterns([
    (r"unified social credit code must be exactly 18", "sales.err.uscc_length"),
    (r"unified social credit code must use upper-case", "sales.err.uscc_case"),
    (r"unified social credit code has a wrong check", "sales.err.uscc_check"),
    (r"unified social credit code|GB 32100|GB 11714|GB/T 2260", "sales.err.uscc"),
    (r"^already registered", "sales.err.uscc_taken"),
    (r"^mobile must", "sales.err.mobile"),
    (r"industry|GB/T 4754", "sales.err.industry"),
    (r"SENSITIVE_DATA|resident ID|bank card", "sales.err.sensitive"),
])


def conversion_fields(fields, ctx):
    """A conversion's ValidationError fields with the customer's messages (and the
    service's own, through the catalogue) in the page's language."""
    return translate_fields(fields or {}, ctx.t, ctx.lang, CUSTOMER_PATTERNS)
