"""The customer form of the workspace (客户信息登记表) <-> the RPC's data.

Field names are the RPC's (``name``, ``uscc``, ``contacts.0.mobile``), so a declared
``ValidationError`` lands next to its field. Contacts are a fixed number of rows
(blank ones ignored, one marked primary by the ``primary`` radio); "add a row"
posts the form back with one more row. The industry is typed as a GB/T 4754 code
or picked/typed by name (``industry``), resolved here to ``industry_code``.
"""
from services.common.web.forms import Form
from services.customers import industries

PROFILE = ("name", "uscc", "region", "scale", "annual_budget", "needs", "source_channel")
OPTIONAL = ("region", "scale", "annual_budget", "needs", "source_channel")
CONTACT = ("name", "title", "mobile", "email")
MIN_ROWS, MAX_ROWS = 3, 20


def row_count(form, contacts=0):
    try:
        rows = int(form.value("rows") or 0)
    except (TypeError, ValueError):
        rows = 0
    return max(MIN_ROWS, min(MAX_ROWS, max(rows, contacts + 1)))


def from_customer(customer):
    """The edit form's values for a customer (as get_customer returns it)."""
    values = {k: customer.get(k) or "" for k in PROFILE}
    values["type"] = customer.get("type") or ""
    values["industry"] = industries.label(customer.get("industry_code"))
    values["version"] = str(customer.get("version") or "")
    contacts = customer.get("contacts") or []
    for i, c in enumerate(contacts):
        for k in CONTACT:
            values[f"contacts.{i}.{k}"] = c.get(k) or ""
        if c.get("is_primary"):
            values["primary"] = str(i)
    values["rows"] = str(max(MIN_ROWS, len(contacts) + 1))
    return Form(values=values)


def to_data(form, rows, creating, t):
    """The form as ``create_customer`` data / ``update_customer`` changes, the map from
    the contacts' positions in the data to their rows on the page, and the errors of
    what the page resolves itself ({field: message}: an industry that matches no or
    several entries, a garbled version); the data then has no ``industry_code``."""
    v = {k: (x.strip() if isinstance(x, str) else x) for k, x in form.values.items()}
    data, own = {}, {}
    for key in PROFILE:
        value = v.get(key) or ""
        if value:
            data[key] = value
        elif key in OPTIONAL and not creating:
            data[key] = None  # cleared on the form: cleared on the record
        elif not creating:
            data[key] = ""  # a required field emptied: the service names it
    if v.get("type"):
        data["type"] = v["type"]
    industry = v.get("industry") or ""
    if industry:
        code, problem = industries.resolve(industry, t)
        if problem:
            own["industry"] = [problem]
        else:
            data["industry_code"] = code
    elif not creating:
        data["industry_code"] = ""
    contacts, positions = [], []
    for i in range(rows):
        row = {k: v.get(f"contacts.{i}.{k}") or "" for k in CONTACT}
        if not any(row.values()):
            continue
        contact = {k: x for k, x in row.items() if x}
        contact["is_primary"] = str(v.get("primary", "")) == str(i)
        contacts.append(contact)
        positions.append(i)
    if creating or contacts:
        data["contacts"] = contacts
    if not creating and v.get("version"):
        try:
            data["version"] = int(v["version"])
        except ValueError:
            own["version"] = [t("customers.version.bad")]
    return data, positions, own


def page_errors(fields, positions):
    """The service's field errors with contacts renamed to their rows on the page
    (``contacts.1`` of the data may be row 2 when row 1 was left blank); the industry
    code's errors shown on the ``industry`` input."""
    out = {}
    for key, msgs in (fields or {}).items():
        if key == "industry_code":
            out["industry"] = msgs
        elif key == "contacts" and isinstance(msgs, dict):
            out["contacts"] = {_row(positions, k): m for k, m in msgs.items()}
        else:
            out[key] = msgs
    return out


def _row(positions, index):
    try:
        return positions[int(index)]
    except (ValueError, IndexError, TypeError):
        return index
