"""OpenAPI 3 document for a gateway, generated with apispec from its routes
and their marshmallow schemas."""
from decimal import Decimal

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import fields, validate

from services.common import money
from services.common.gateway import openapi_path, path_params
from services.common.schemas import MAX_PAGE_SIZE, ColumnDecimal

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                   "fields": {"type": "object"}},
}
_ERRORS = {"401": "Missing, expired or invalid token",
           "403": "Your role may not do this", "404": "Not found (or not yours)",
           "409": "Conflict (duplicate, stale version, illegal transition)",
           "413": "Payload too large", "422": "Validation failed, field by field",
           "429": "Too many requests from this user (see Retry-After)",
           "503": "Service temporarily unavailable"}
_QUERY_BOUNDS = {"page": {"minimum": 1}, "page_size": {"minimum": 1, "maximum": MAX_PAGE_SIZE}}


def _decimal_as_string(self, field, **kwargs):
    """Money is a string on the wire (``"1234.50"``); apispec documents every
    Decimal as a number."""
    if isinstance(field, ColumnDecimal) and field.as_string:  # bounded by its column
        sign = "-?" if field.signed else ""
        top = min([money.column_max(field.precision, field.scale)] +
                  [Decimal(str(v.max)) for v in field.validators
                   if isinstance(v, validate.Range) and v.max is not None])
        return {"type": "string", "format": "decimal",
                "pattern": rf"^{sign}\d{{1,{field.precision - field.scale}}}"
                           rf"(\.\d{{1,{field.scale}}})?$",
                "x-maximum": str(top), "x-decimal-places": field.scale}
    if isinstance(field, fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
    return {}


def _schema_name(schema):
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Schema") or cls.__name__


def build_spec(gateway_cls, title, version="1.0.0", description=""):
    marshmallow_plugin = MarshmallowPlugin()
    spec = APISpec(title=title, version=version, openapi_version="3.0.3",
                   info={"description": description}, plugins=[marshmallow_plugin])
    marshmallow_plugin.converter.add_attribute_function(_decimal_as_string)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "bearerFormat": "JWT"})
    spec.components.schema("Error", ERROR_SCHEMA)
    registered = set()

    def ref(schema):
        name = _schema_name(schema)
        if name not in registered and name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
        registered.add(name)
        one = {"$ref": f"#/components/schemas/{name}"}
        return {"type": "array", "items": one} if getattr(schema, "many", False) else one

    paths = {}
    for attr in sorted(dir(gateway_cls)):
        meta = getattr(getattr(gateway_cls, attr), "crm_route", None)
        if not meta:
            continue
        op = {"summary": meta["summary"] or attr, "operationId": attr,
              "tags": meta["tags"] or [gateway_cls.name], "responses": {}}
        if meta["doc"]:
            op["description"] = meta["doc"].strip()
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": t}}
                  for n, t in path_params(meta["url"])]
        for qname, qtype in meta["query"].items():
            params.append({"name": qname, "in": "query", "required": False,
                           "schema": {"type": qtype, **_QUERY_BOUNDS.get(qname, {})}})
        if params:
            op["parameters"] = params
        if meta["body"] is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": ref(meta["body"])}}}
        ok = {"description": "OK"}
        if meta["response"] is not None:
            ok["content"] = {"application/json": {"schema": ref(meta["response"])}}
        elif meta["media"] != "application/json":
            ok["content"] = {meta["media"]: {"schema": {"type": "string"}}}
        op["responses"][str(meta["status"])] = ok
        error = ({"text/html": {"schema": {"type": "string"}}} if meta["page"] else
                 {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}})
        for code, desc in _ERRORS.items():
            if code in ("401", "403", "429") and not (meta["auth"] or meta["page"]):
                continue
            op["responses"][code] = {"description": desc, "content": error}
        if meta["auth"]:
            op["security"] = [{"bearer": []}]
        paths.setdefault(openapi_path(meta["url"]), {})[meta["method"].lower()] = op
    for path, ops in paths.items():
        spec.path(path=path, operations=ops)
    return _numeric_bounds(spec.to_dict())


def _numeric_bounds(node):
    """apispec renders Decimal Range bounds as strings ("0.00"); OpenAPI wants numbers."""
    if isinstance(node, dict):
        return {k: (float(v) if k in ("minimum", "maximum") and not isinstance(v, (int, float))
                    else _numeric_bounds(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_numeric_bounds(v) for v in node]
    return node
