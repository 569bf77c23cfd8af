"""customers_gateway: the customer department's HTTP API (port 8001)."""
import base64

from marshmallow import Schema, fields
from werkzeug.wrappers import Response

from services.common.gateway import GatewayBase, json_body, query_int, route, rpc
from services.common.openapi import build_spec
from services.customers import export
from services.customers.page_actions import CustomerActions
from services.customers.page_import import CustomerImport
from services.customers.page_merge import CustomerMerge
from services.customers.pages import CustomerPages
from services.customers.schemas import (
    AttachmentInSchema,
    AttachmentOutSchema,
    CustomerChangesSchema,
    CustomerInSchema,
    CustomerOutSchema,
    CustomerPageSchema,
    CustomerWrittenSchema,
    DuplicateSchema,
    HistoryOutSchema,
    ImportRowSchema,
    LostSchema,
    MergeBodySchema,
    OwnerSchema,
    TagsSchema,
)

ATTACHMENT_BODY_LIMIT = 8 * 1024 * 1024  # 5 MB file, base64 or multipart overhead
LIST_QUERY = {"tags_all": "string", "tags_any": "string", "type": "string", "tier": "string",
              "owner_id": "string", "industry_code": "string", "region": "string",
              "q": "string", "page": "integer", "page_size": "integer",
              "sort": "string", "created_from": "string", "created_to": "string",
              "updated_from": "string", "updated_to": "string", "cursor": "string"}


class ImportSchema(Schema):
    rows = fields.List(fields.Nested(ImportRowSchema), required=True)


class ImportResultSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    errors = fields.List(fields.Dict())
    duplicates = fields.List(fields.Nested(DuplicateSchema))


class VerifySchema(Schema):
    valid = fields.Boolean()
    entries = fields.Integer()
    broken_at_seq = fields.Integer(allow_none=True)


class ErasedSchema(Schema):
    customer_id = fields.Integer()
    contact_id = fields.Integer()
    erased = fields.Boolean(metadata={"description": "false: it was erased already"})
    history_entries_rewritten = fields.Integer()


class AuditVerifySchema(Schema):
    valid = fields.Boolean()
    entries = fields.Integer()
    first_bad_seq = fields.Integer(allow_none=True)
    first_bad_index = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True)


class AuditEntrySchema(Schema):
    seq = fields.Integer()
    at = fields.String()
    actor = fields.String()
    via = fields.String(allow_none=True)
    action = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)


EXPORT_QUERY = {k: v for k, v in LIST_QUERY.items()
                if k not in ("page", "page_size", "cursor")}


def _download_headers(filename):
    return {"Content-Disposition": export.disposition(filename),
            "Cache-Control": "private, no-store"}


def _list_filters(request):
    filters = {}
    for key in ("type", "tier", "owner_id", "industry_code", "region", "q", "sort",
                "created_from", "created_to", "updated_from", "updated_to"):
        if request.args.get(key):
            filters[key] = request.args[key]
    for key in ("tags_all", "tags_any"):
        if request.args.get(key):
            filters[key] = [t for t in request.args[key].split(",") if t]
    return filters


class CustomersGateway(CustomerPages, CustomerActions, CustomerImport, CustomerMerge,
                       GatewayBase):
    """JSON API (below) and the customers workspace's pages (pages.py, page_actions.py,
    page_import.py, page_merge.py)."""

    name = "customers_gateway"
    customers = rpc("customers")

    @route("GET", "/openapi.json", auth=False, summary="This API as OpenAPI 3")
    def openapi(self, request):
        return build_spec(CustomersGateway, "Kehu CRM customers API",
                          description="Customer master records: profile, contacts, tags, "
                                      "owners, lost marking, history, attachments, import.")

    @route("POST", "/customers", summary="Create a customer (answer lists likely duplicates)",
           body=CustomerInSchema, response=CustomerWrittenSchema, status=201,
           tags=["customers"])
    def create_customer(self, request):
        return self.call(self.customers, "create_customer", json_body(request))

    @route("GET", "/customers", summary="List customers you may see", query=LIST_QUERY,
           response=CustomerPageSchema, tags=["customers"])
    def list_customers(self, request):
        return self.call(self.customers, "list_customers", _list_filters(request),
                         page=query_int(request, "page", 1),
                         page_size=query_int(request, "page_size", 20),
                         cursor=request.args.get("cursor") or None)

    @route("GET", "/customers/<int:customer_id>", summary="Get a customer",
           response=CustomerOutSchema, tags=["customers"])
    def get_customer(self, request, customer_id):
        return self.call(self.customers, "get_customer", customer_id)

    @route("PATCH", "/customers/<int:customer_id>",
           summary="Update a customer (answer lists likely duplicates)",
           body=CustomerChangesSchema, response=CustomerWrittenSchema, tags=["customers"])
    def update_customer(self, request, customer_id):
        return self.call(self.customers, "update_customer", customer_id, json_body(request))

    @route("POST", "/customers/<int:customer_id>/merge",
           summary="Merge another customer into this one (managers); the merged id then "
                   "answers 410 MERGED with kept_id", body=MergeBodySchema,
           response=CustomerOutSchema, tags=["lifecycle"])
    def merge_customers(self, request, customer_id):
        return self.call(self.customers, "merge_customers", customer_id,
                         json_body(request).get("merge_id"))

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

    @route("POST", "/customers/<int:customer_id>/contacts/<int:contact_id>/erase",
           summary="Erase a contact person's personal data (PIPL; managers): name, mobile, "
                   "email and birthday here and in every service holding a copy",
           response=ErasedSchema, tags=["privacy"])
    def erase_contact(self, request, customer_id, contact_id):
        return self.call(self.customers, "erase_contact", customer_id, contact_id)

    @route("GET", "/customers/<int:customer_id>/audit", summary="Audit trail of the "
           "customer record (managers; contact values masked)",
           response=AuditEntrySchema(many=True), tags=["history"])
    def audit_trail(self, request, customer_id):
        return self.call(self.customers, "audit_trail", "customer", customer_id)

    @route("GET", "/customers/<int:customer_id>/audit/verify", summary="Verify the "
           "customer record's audit entries and the chain's head (managers)",
           response=AuditVerifySchema, tags=["history"])
    def verify_audit(self, request, customer_id):
        return self.call(self.customers, "verify_audit", "customer", customer_id)

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

    @route("GET", "/customers/<int:customer_id>/attachments/<int:attachment_id>",
           summary="Download an attachment (the stored file, as uploaded)",
           media="application/octet-stream", tags=["attachments"])
    def get_attachment(self, request, customer_id, attachment_id):
        """The file with its content type (application/pdf or image/jpeg) and a
        Content-Disposition carrying its name; someone else's customer's is a 404."""
        att = self.call(self.customers, "get_attachment", customer_id, attachment_id)
        return Response(base64.b64decode(att["content_b64"]), mimetype=att["content_type"],
                        headers={"Content-Disposition": export.disposition(att["filename"]),
                                 "X-Content-Type-Options": "nosniff",
                                 "Cache-Control": "private, no-store"})

    @route("GET", "/customers/export.csv", summary="Export the filtered list as CSV (UTF-8)",
           query=EXPORT_QUERY, media="text/csv", tags=["customers"])
    def export_csv(self, request):
        """Only customers you may see, contacts masked as in the list; the header is the
        import format. Streamed batch by batch."""
        items = self._export_items(_list_filters(request))
        return Response(export.csv_chunks(items), mimetype="text/csv",
                        headers=_download_headers("customers.csv"), direct_passthrough=True)

    @route("GET", "/customers/export.xlsx", summary="Export the filtered list as XLSX",
           query=EXPORT_QUERY, media=export.XLSX_TYPE, tags=["customers"])
    def export_xlsx(self, request):
        """As export.csv, as an Excel workbook (built on disk row by row, then streamed)."""
        path = export.xlsx_file(self._export_items(_list_filters(request)))
        return Response(export.file_chunks(path), mimetype=export.XLSX_TYPE,
                        headers=_download_headers("customers.xlsx"), direct_passthrough=True)

    def _export_items(self, filters):
        """The export's customers, batch by batch; the first batch is fetched now so a bad
        filter or a silent bus is an error status, not a broken download."""
        def fetch(cursor):
            return self.call(self.customers, "export_customers", filters, cursor=cursor,
                             limit=export.BATCH)
        return export.customers(fetch, fetch(None))

    @route("POST", "/customers/import", summary="Import flat rows (create or update by USCC)",
           body=ImportSchema, response=ImportResultSchema, max_body=16 * 1024 * 1024,
           tags=["import"])
    def import_customers(self, request):
        return self.call(self.customers, "import_customers", json_body(request).get("rows"))


