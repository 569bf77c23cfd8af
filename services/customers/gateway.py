"""customers_gateway: the customer department's HTTP API (port 8001)."""
import base64

from marshmallow import Schema, fields

from services.common.gateway import GatewayBase, json_body, query_int, route, rpc
from services.common.openapi import build_spec
from services.customers.schemas import (
    AttachmentInSchema,
    AttachmentOutSchema,
    CustomerChangesSchema,
    CustomerInSchema,
    CustomerOutSchema,
    CustomerPageSchema,
    HistoryOutSchema,
    ImportRowSchema,
    LostSchema,
    OwnerSchema,
    TagsSchema,
)

ATTACHMENT_BODY_LIMIT = 8 * 1024 * 1024  # 5 MB file, base64 or multipart overhead
LIST_QUERY = {"tags_all": "string", "tags_any": "string", "type": "string", "tier": "string",
              "owner_id": "string", "industry_code": "string", "region": "string",
              "q": "string", "page": "integer", "page_size": "integer"}


class ImportSchema(Schema):
    rows = fields.List(fields.Nested(ImportRowSchema), required=True)


class ImportResultSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    errors = fields.List(fields.Dict())


class VerifySchema(Schema):
    valid = fields.Boolean()
    entries = fields.Integer()
    broken_at_seq = fields.Integer(allow_none=True)


def _list_filters(request):
    filters = {}
    for key in ("type", "tier", "owner_id", "industry_code", "region", "q"):
        if request.args.get(key):
            filters[key] = request.args[key]
    for key in ("tags_all", "tags_any"):
        if request.args.get(key):
            filters[key] = [t for t in request.args[key].split(",") if t]
    return filters


class CustomersGateway(GatewayBase):
    name = "customers_gateway"
    customers = rpc("customers")

    @route("GET", "/openapi.json", auth=False, summary="This API as OpenAPI 3")
    def openapi(self, request):
        return build_spec(CustomersGateway, "Kehu CRM customers API",
                          description="Customer master records: profile, contacts, tags, "
                                      "owners, lost marking, history, attachments, import.")

    @route("POST", "/customers", summary="Create a customer", body=CustomerInSchema,
           response=CustomerOutSchema, status=201, tags=["customers"])
    def create_customer(self, request):
        return self.call(self.customers, "create_customer", json_body(request))

    @route("GET", "/customers", summary="List customers you may see", query=LIST_QUERY,
           response=CustomerPageSchema, tags=["customers"])
    def list_customers(self, request):
        return self.call(self.customers, "list_customers", _list_filters(request),
                         page=query_int(request, "page", 1),
                         page_size=query_int(request, "page_size", 20))

    @route("GET", "/customers/<int:customer_id>", summary="Get a customer",
           response=CustomerOutSchema, tags=["customers"])
    def get_customer(self, request, customer_id):
        return self.call(self.customers, "get_customer", customer_id)

    @route("PATCH", "/customers/<int:customer_id>", summary="Update a customer",
           body=CustomerChangesSchema, response=CustomerOutSchema, tags=["customers"])
    def update_customer(self, request, customer_id):
        return self.call(self.customers, "update_customer", customer_id, json_body(request))

    @route("POST", "/customers/<int:customer_id>/tags", summary="Add tags", body=TagsSchema,
           response=CustomerOutSchema, tags=["tags"])
    def add_tags(self, request, customer_id):
        return self.call(self.customers, "add_tags", customer_id,
                         json_body(request).get("tags"))

    @route("POST", "/customers/<int:customer_id>/tags/remove", summary="Remove tags",
           body=TagsSchema, response=CustomerOutSchema, tags=["tags"])
    def remove_tags(self, request, customer_id):
        return self.call(self.customers, "remove_tags", customer_id,
                         json_body(request).get("tags"))

    @route("POST", "/customers/<int:customer_id>/lost", summary="Mark lost with a reason",
           body=LostSchema, response=CustomerOutSchema, tags=["lifecycle"])
    def mark_lost(self, request, customer_id):
        body = json_body(request)
        return self.call(self.customers, "mark_lost", customer_id, body.get("reason_code"),
                         body.get("note"))

    @route("POST", "/customers/<int:customer_id>/reactivate", summary="Reactivate a lost customer",
           response=CustomerOutSchema, tags=["lifecycle"])
    def reactivate(self, request, customer_id):
        return self.call(self.customers, "reactivate", customer_id)

    @route("PUT", "/customers/<int:customer_id>/owner", summary="Change owner (managers)",
           body=OwnerSchema, response=CustomerOutSchema, tags=["lifecycle"])
    def set_owner(self, request, customer_id):
        return self.call(self.customers, "set_owner", customer_id,
                         json_body(request).get("owner_id"))

    @route("GET", "/customers/<int:customer_id>/history", summary="Modification log",
           response=HistoryOutSchema(many=True), tags=["history"])
    def get_history(self, request, customer_id):
        return self.call(self.customers, "get_history", customer_id)

    @route("GET", "/customers/<int:customer_id>/history/verify",
           summary="Verify the log's hash chain", response=VerifySchema, tags=["history"])
    def verify_history(self, request, customer_id):
        return self.call(self.customers, "verify_history", customer_id)

    @route("POST", "/customers/<int:customer_id>/attachments",
           summary="Attach a .pdf or .jpg (≤ 5 MB): JSON {filename, content_b64} or multipart "
                   "field 'file'", body=AttachmentInSchema, response=AttachmentOutSchema,
           status=201, max_body=ATTACHMENT_BODY_LIMIT, tags=["attachments"])
    def add_attachment(self, request, customer_id):
        upload = request.files.get("file") if request.mimetype == "multipart/form-data" else None
        if upload is not None:
            filename = upload.filename
            content_b64 = base64.b64encode(upload.read()).decode("ascii")
        else:
            body = json_body(request)
            filename, content_b64 = body.get("filename"), body.get("content_b64")
        return self.call(self.customers, "add_attachment", customer_id, filename, content_b64)

    @route("GET", "/customers/<int:customer_id>/attachments", summary="List attachments",
           response=AttachmentOutSchema(many=True), tags=["attachments"])
    def list_attachments(self, request, customer_id):
        return self.call(self.customers, "list_attachments", customer_id)

    @route("POST", "/customers/import", summary="Import flat rows (create or update by USCC)",
           body=ImportSchema, response=ImportResultSchema, max_body=16 * 1024 * 1024,
           tags=["import"])
    def import_customers(self, request):
        return self.call(self.customers, "import_customers", json_body(request).get("rows"))


