"""Forms: the entered values, the field errors, and nesting of dotted names.

Field names in HTML forms are the dotted names the services use in
``ValidationError.fields`` (``company``, ``contacts.0.mobile``), so an error
lands next to its field without any mapping. The services' messages are English;
a form made from a page's request shows them in the page's language where a
catalogue has ``"msg:<the English text>"`` (see i18n.message)::

    form = Form(request)                      # request.form for POST, args for GET
    data = form.nested(skip_empty=True)        # {"contacts": [{"mobile": "..."}], ...}
    try:
        ...
    except ValidationError as exc:
        return render("x.html", form=form.with_errors(exc), status=422)
"""
import re

from services.common.web.session import CSRF_FIELD

_INDEX = re.compile(r"^\d+$")


def flatten_errors(fields, prefix=""):
    """{"contacts": {0: {"mobile": ["bad"]}}} or {"contacts.0.mobile": "bad"} ->
    {"contacts.0.mobile": ["bad"]} (messages always a list of strings)."""
    out = {}
    if isinstance(fields, dict):
        for key, value in fields.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(flatten_errors(value, name))
            elif isinstance(value, (list, tuple)):
                flat = []
                for item in value:
                    if isinstance(item, dict):
                        out.update(flatten_errors(item, name))
                    else:
                        flat.append(str(item))
                if flat:
                    out.setdefault(name, []).extend(flat)
            else:
                out.setdefault(name, []).append(str(value))
    elif fields:
        out.setdefault(prefix or "_form", []).append(str(fields))
    return out


def nest(flat):
    """{"a.0.b": 1, "c": 2} -> {"a": [{"b": 1}], "c": 2}: numeric parts make lists
    (in index order, gaps closed)."""
    root = {}
    for name, value in flat.items():
        parts = name.split(".")
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node):
    if not isinstance(node, dict):
        return node
    if node and all(_INDEX.match(k) for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


class Form:
    """Entered values (kept on a re-render) and errors by dotted field name."""

    def __init__(self, request=None, values=None, errors=None):
        if values is None:
            source = {}
            if request is not None:
                source = request.form if request.method in ("POST", "PUT", "PATCH") \
                    else request.args
            values = {k: (v if len(v) > 1 else v[0]) for k, v in source.lists()
                      if k != CSRF_FIELD}
        self.values = dict(values)
        self.errors = flatten_errors(errors or {})
        ctx = getattr(request, "crm_page", None)
        self._say = ctx.message if ctx is not None else (lambda text: text)

    # values -------------------------------------------------------------------------------
    def value(self, name, default=""):
        v = self.values.get(name, default)
        return default if v is None else v

    def values_of(self, name):
        """A multi-valued field (checkboxes, multi-select) as a list."""
        v = self.values.get(name)
        if v is None or v == "":
            return []
        return list(v) if isinstance(v, list) else [v]

    def get(self, name, default=None):
        return self.values.get(name, default)

    def nested(self, skip_empty=True):
        """The values as the nested dict the RPC takes; empty strings dropped."""
        flat = {k: (v.strip() if isinstance(v, str) else v) for k, v in self.values.items()}
        if skip_empty:
            flat = {k: v for k, v in flat.items() if v not in ("", [], None)}
        return nest(flat)

    # errors -------------------------------------------------------------------------------
    def with_errors(self, exc_or_fields):
        fields = getattr(exc_or_fields, "fields", exc_or_fields)
        self.errors = flatten_errors(fields or {})
        if not self.errors and getattr(exc_or_fields, "message", None):
            self.errors = {"_form": [exc_or_fields.message]}
        return self

    def add_error(self, name, message):
        self.errors.setdefault(name, []).append(str(message))
        return self

    def error(self, name):
        """Messages of one field (and of its sub-fields: ``contacts`` gets contacts.0.x)."""
        return [self._say(m) for m in self.errors.get(name, [])]

    def errors_under(self, prefix):
        return {k: v for k, v in self.errors.items()
                if k == prefix or k.startswith(prefix + ".")}

    @property
    def has_errors(self):
        return bool(self.errors)

    def summary(self):
        """[(field, message)] in a stable order for the error summary at the top."""
        return [(name, self._say(msg)) for name in sorted(self.errors)
                for msg in self.errors[name]]
