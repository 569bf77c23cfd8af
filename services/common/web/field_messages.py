"""Field error messages in the page's language.

The services' messages are English (marshmallow's, the validators'). On a zh-CN
page ``translate_fields(exc.fields, ctx.t, ctx.lang)`` shows each in Chinese:
first the service's own patterns (``patterns=``), then an exact catalogue entry
``"msg:<text>"``, then the kit's generic marshmallow patterns (keys
``field.err.*`` in the kit catalogue); an unknown message is shown unchanged, an
English page shows them as they are. Named groups of a pattern are the format
arguments of its message (``{min}``, ``{max}`` …)::

    from services.common.web.field_messages import compile_patterns, translate_fields

    OWN = compile_patterns([(r"^mobile must", "sd.err.mobile")])
    fields = translate_fields(exc.fields, ctx.t, ctx.lang, OWN)
"""
import re

_NUM = r"(?P<{}>-?[\d.]*\d)"
GENERIC = [(re.compile(p), "field.err." + key) for p, key in (
    (r"^Missing data for required field\.$", "required"),
    (r"^Field may not be null\.$", "required"),
    (r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$", "length"),
    (r"^Length must be (?P<equal>\d+)\.$", "length_equal"),
    (r"^Longer than maximum length (?P<max>\d+)\.$", "too_long"),
    (r"^Shorter than minimum length (?P<min>\d+)\.$", "too_short"),
    (r"^Must be one of: ", "choice"),
    (r"^One or more of the choices you made was not in: ", "choice"),
    (r"^Must be greater than or equal to " + _NUM.format("min")
     + r" and less than or equal to " + _NUM.format("max") + r"\.$", "between"),
    (r"^Must be greater than or equal to " + _NUM.format("min") + r"\.$", "min"),
    (r"^Must be less than or equal to " + _NUM.format("max") + r"\.$", "max"),
    (r"^Must be greater than " + _NUM.format("min") + r"\.$", "gt"),
    (r"^Must be less than " + _NUM.format("max") + r"\.$", "lt"),
    (r"^Not a valid (integer|number)\.$", "number"),
    (r"^Special numeric values \(nan or infinity\) are not permitted\.$", "number"),
    (r"^Number too large\.$", "too_large"),
    (r"^Not a valid date\.$", "date"),
    (r"^Not a valid ((aware|naive) )?datetime\.$", "datetime"),
    (r"^Not a valid ((aware|naive) )?time\.$", "time"),
    (r"^Not a valid email address\.$", "email"),
    (r"^Not a valid URL\.$", "url"),
    (r"^Not a valid boolean\.$", "boolean"),
    (r"^Not a valid (utf-8 )?string\.$", "string"),
    (r"^Not a valid (list|tuple|mapping type)\.$", "type"),
    (r"^Invalid (input )?type\.$", "type"),
    (r"^Unknown field\.$", "unknown"),
    (r"^(Invalid value|Invalid input|String does not match expected pattern"
     r"|Not a valid UUID)\.$", "invalid"),
)]


def compile_patterns(pairs):
    """[(regex text, message key)] -> the ``patterns`` argument of translate_*."""
    return [(re.compile(p) if isinstance(p, str) else p, key) for p, key in pairs]


def translate_message(message, t, lang, patterns=()):
    """One message in ``lang`` (see the module docstring)."""
    if lang == "en" or not isinstance(message, str):
        return message
    for pattern, key in patterns:
        found = pattern.search(message)
        if found:
            return t(key, **found.groupdict())
    exact = t("msg:" + message)
    if exact != "msg:" + message:
        return exact
    for pattern, key in GENERIC:
        found = pattern.search(message)
        if found:
            return t(key, **found.groupdict())
    return message


def translate_fields(fields, t, lang, patterns=()):
    """``{field: [messages] | {sub: ...}}`` (a ValidationError's ``fields``, nested
    or dotted) with every message translated; the shape is kept."""
    if isinstance(fields, dict):
        return {k: translate_fields(v, t, lang, patterns) for k, v in fields.items()}
    if isinstance(fields, (list, tuple)):
        return [translate_fields(v, t, lang, patterns) for v in fields]
    return translate_message(fields, t, lang, patterns)
