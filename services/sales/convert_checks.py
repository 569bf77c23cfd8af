"""Lead conversion: every field error in one answer.

A prospect lead's conversion writes at two services: customers creates the customer,
then sales the opportunity. Both sets of fields are checked before anything is written,
so a user fixing the form sees the opportunity's errors and the customer's own
(``customer.uscc``, ``customer.contact.mobile`` …) at once, not in two rounds:
``customers.check_customer`` answers what ``create_customer`` would say without
writing. The customer's field names are given as the conversion form names them
(``customer.<field>``; the form's one contact, ``customer.contact.<field>``, is the
customer's ``contacts.0``).
"""
from services.common.errors import Forbidden, NotFound, ValidationError
from services.common.schemas import load

INVALID = "Invalid input"


def customer_field(name):
    """customers' field name → the conversion form's (``contacts.0.mobile`` →
    ``customer.contact.mobile``)."""
    if name.startswith("contacts.0."):
        name = "contact." + name[len("contacts.0."):]
    elif name in ("contacts", "contacts.0"):
        name = "contact"
    return f"customer.{name}"


def customer_fields(fields):
    """customers' ``fields`` (possibly nested) → {form name: messages}."""
    out = {}

    def walk(value, prefix):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{prefix}{key}.")
        else:
            out[customer_field(prefix[:-1])] = value

    walk(fields or {}, "")
    return out


def load_opportunity(schema, opportunity):
    """The conversion's own fields → (data or None, {field: messages})."""
    try:
        return load(schema, opportunity), {}
    except ValidationError as exc:
        return None, dict(exc.fields or {})


def extra_customer_fields(opportunity):
    """The customer's extra fields as sent (``opportunity["customer"]``), when they are
    an object; a malformed one is the conversion schema's error already."""
    extra = (opportunity or {}).get("customer") if isinstance(opportunity, dict) else None
    return extra if isinstance(extra, dict) else {}


def customer_errors(check, prospect):
    """``check(prospect)`` (customers.check_customer) → {form name: messages}, {} when
    customers accepts the fields."""
    try:
        check(prospect)
    except ValidationError as exc:
        return customer_fields(exc.fields) or {"customer": [exc.message]}
    except (NotFound, Forbidden) as exc:
        return {"customer": [exc.message]}
    return {}


def raise_all(errors):
    """One ValidationError naming every field of both sets (nothing has been written)."""
    if errors:
        raise ValidationError(INVALID, errors)
