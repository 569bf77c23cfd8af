"""customers: the one customer master record (nameko service ``customers``)."""
import base64
import binascii
import datetime as dt
import hashlib
from pathlib import Path

from sqlalchemy.orm.exc import StaleDataError

from services.common import name_lookup, paging
from services.common.config import var_dir
from services.common.errors import Forbidden, NotFound, PayloadTooLarge, validation_error
from services.common.handlers import event_handler
from services.common.schemas import load, page_args
from services.common.service import DomainService, declared_rpc
from services.common.uow import Database
from services.customers import commands, domain, duplicates, erasure, listing, merge
from services.customers import repository as repo
from services.customers.exceptions import EXPECTED, Conflict
from services.customers.models import Attachment, Base, Customer
from services.customers.schemas import (
    AttachmentInSchema,
    AttachmentOutSchema,
    CustomerChangesSchema,
    CustomerInSchema,
    CustomerOutSchema,
    HistoryOutSchema,
    ListFiltersSchema,
    LostSchema,
    MergeSchema,
    OwnerSchema,
    TagsSchema,
    dump_customer,
    export_args,
)

OUT = CustomerOutSchema()
# schemas are built once: building one (field deep copies) costs more than a load
CUSTOMER_IN = CustomerInSchema()


_rpc = declared_rpc(EXPECTED)


class CustomersService(DomainService):
    name = "customers"

    db = Database(Base)

    # --- create / read / update ----------------------------------------------
    @_rpc
    def create_customer(self, data, at=None):
        """Create a customer → the customer plus ``duplicates`` (likely duplicates,
        ``[{id, name, reason}]``, warnings only). ValidationError, Conflict (USCC taken)."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        data = load(CUSTOMER_IN, data)
        plan = commands.prepare_create(actor, data, when)  # validation before any I/O
        with self.db.uow() as uow:
            customer = commands.create_planned(uow, actor, plan, when)
            rec = plan["record"]
            found = duplicates.find(uow.connection, [duplicates.probe(
                rec["id"], rec["name"], rec["region"], plan["contacts"], rec)])[0]
            uow.commit()
        return dict(dump_customer(customer), duplicates=found)

    @_rpc
    def check_customer(self, data):
        """What ``create_customer(data)`` would say about the fields, without writing or
        reading anything → ``{"valid": true}``; ValidationError naming each bad field
        (a taken USCC is only found by create_customer itself). Lets a caller report its
        own fields' errors and the customer's at once (sales' lead conversion)."""
        actor = self.actor.get()
        commands.prepare_create(actor, load(CUSTOMER_IN, data), dt.datetime.now(dt.UTC))
        return {"valid": True}

    @_rpc
    def customer_names(self, ids):
        """Names of up to 500 customers in one call → {id (as a string): name}, for
        another service's list page (sales names its orders' customers this way, as the
        system, only for the rows its user may see). Staff get the customers they may
        see, managers and system callers all; unknown ids are left out. Read-only."""
        actor = self.actor.get()
        ids = name_lookup.parse_ids(ids)
        scope = actor.owner_scope()
        with self.db.read_uow() as ro:
            return name_lookup.names_by_id(
                ro.session, Customer.id, Customer.name, ids,
                None if scope is None else Customer.owner_id == scope)

    @_rpc
    def get_customer(self, customer_id):
        """The customer (contacts masked unless you own it). NotFound."""
        actor = self.actor.get()
        with self.db.read_uow() as ro:
            customer = repo.read_fast(ro, customer_id, actor)
        out = dump_customer(customer)
        if out.get("contacts") and (actor.is_system or out.get("owner_id") == actor.id):
            self.db.audit.note_read(actor.label, "customer", [out["id"]], "contacts_read",
                                    "customers.get_customer")  # contacts in clear
        return out

    @_rpc
    def update_customer(self, customer_id, changes, at=None):
        """Apply ``changes`` (optionally with ``version`` for optimistic locking)
        → the customer plus ``duplicates`` (as create_customer's). ValidationError,
        NotFound, Merged, Conflict (stale version, USCC)."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        changes = load(CustomerChangesSchema(), changes, partial=True)
        if "owner_id" in changes or "tags" in changes:
            raise validation_error({k: "use set_owner / add_tags / remove_tags"
                                    for k in ("owner_id", "tags") if k in changes})
        try:
            with self.db.uow() as uow:
                customer = repo.get(uow.session, customer_id, actor, for_update=True)
                commands.update(uow, actor, customer, changes, when)
                found = duplicates.find(uow.connection, [duplicates.probe_of(customer)])[0]
                uow.commit()
                return dict(OUT.dump(repo.to_output(customer, actor)), duplicates=found)
        except StaleDataError:
            raise Conflict("the customer was changed by someone else; reload and retry",
                           {"version": ["stale"]}, code="STALE_VERSION") from None

    @_rpc
    def list_customers(self, filters=None, page=1, page_size=20, cursor=None):
        """Customers you may see, filtered and searched (``q``, ranked) →
        {items, total, page, page_size, next_cursor, total_is_estimate}. Pass
        ``next_cursor`` back as ``cursor`` for the next page (keyset; ``page`` still
        works for small results). ``total`` is exact up to 1,000 matches, above that an
        estimate with ``total_is_estimate: true``. Read-only (no write lock)."""
        actor = self.actor.get()
        # search terms are not stored: a USCC typed into q must not trip the scanner
        filters = load(ListFiltersSchema(), filters or {}, scan_skip=("q", "uscc"))
        page, page_size = page_args(page, page_size)
        with self.db.read_uow() as ro:
            conn = ro.connection
            ids, next_cursor, total, estimate = repo.list_page(
                conn, filters, actor.owner_scope(), page, page_size, cursor)
            items = [OUT.dump(c) for c in listing.outputs(conn, ids, actor)]
        return paging.paged(items, total, page, page_size, next_cursor, estimate)

    @_rpc
    def merge_customers(self, keep_id, merge_id, at=None):
        """Managers merge ``merge_id`` into ``keep_id`` → the kept customer (event
        ``customers_merged``); the merged id then answers ``Merged`` (its ``kept_id``).
        Forbidden (staff), ValidationError, NotFound, Merged."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        args = load(MergeSchema(), {"keep_id": keep_id, "merge_id": merge_id})
        with self.db.uow() as uow:
            kept = merge.merge(uow, actor, args["keep_id"], args["merge_id"], when)
            uow.commit()
            return OUT.dump(repo.to_output(kept, actor))

    # --- tags, owner, lost ----------------------------------------------------
    @_rpc
    def add_tags(self, customer_id, tags, at=None):
        return self._change_tags(customer_id, tags, at, add=True)

    @_rpc
    def remove_tags(self, customer_id, tags, at=None):
        return self._change_tags(customer_id, tags, at, add=False)

    def _change_tags(self, customer_id, tags, at, add):
        actor = self.actor.get()
        when = actor.resolve_at(at)
        tags = load(TagsSchema(), {"tags": tags})["tags"]
        with self.db.uow() as uow:
            customer = repo.get(uow.session, customer_id, actor, for_update=True)
            current = set(customer.tags)
            wanted = current | set(tags) if add else current - set(tags)
            commands.apply(uow, actor, customer, when, "tags_changed",
                           lambda c: repo.set_tags(c, wanted))
            uow.commit()
            return OUT.dump(repo.to_output(customer, actor))

    @_rpc
    def set_owner(self, customer_id, owner_id, at=None):
        """Managers hand a customer to another owner. Forbidden for staff."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        owner_id = load(OwnerSchema(), {"owner_id": owner_id})["owner_id"]
        with self.db.uow() as uow:
            customer = repo.get(uow.session, customer_id, actor, for_update=True)
            if not actor.is_manager:
                raise Forbidden("only managers may change a customer's owner")
            previous = customer.owner_id
            if previous != owner_id:
                commands.apply(uow, actor, customer, when, "owner_changed",
                               lambda c: setattr(c, "owner_id", owner_id), event=None)
                uow.emit("customer_owner_changed",
                         repo.event_data(customer, previous_owner_id=previous), when)
            uow.commit()
            return OUT.dump(repo.to_output(customer, actor))

    @_rpc
    def mark_lost(self, customer_id, reason_code, note=None, at=None):
        """Mark a customer lost with a reason code. Conflict if already lost."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        args = load(LostSchema(), {"reason_code": reason_code, "note": note})
        with self.db.uow() as uow:
            customer = repo.get(uow.session, customer_id, actor, for_update=True)
            if customer.type == "lost":
                raise Conflict("customer is already marked lost")

            def lose(c):
                c.type, c.lost_reason, c.lost_note, c.lost_at = (
                    "lost", args["reason_code"], args.get("note"), when)
            commands.apply(uow, actor, customer, when, "marked_lost", lose, event=None)
            uow.emit("customer_lost", repo.event_data(customer, reason_code=args["reason_code"],
                                                      note_given=bool(args.get("note"))), when)
            uow.commit()
            return OUT.dump(repo.to_output(customer, actor))

    @_rpc
    def reactivate(self, customer_id, at=None):
        """Bring a lost customer back (closed if it has orders, else potential)."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        with self.db.uow() as uow:
            customer = repo.get(uow.session, customer_id, actor, for_update=True)
            if customer.type != "lost":
                raise Conflict("only a lost customer can be reactivated")
            _, first_order = repo.orders_last_12_months(uow.session, customer.id, when)

            def revive(c):
                c.type = "closed" if first_order or c.cooperation_since else "potential"
                c.lost_reason = c.lost_note = c.lost_at = None
            commands.apply(uow, actor, customer, when, "reactivated", revive, event=None)
            uow.emit("customer_reactivated", repo.event_data(customer), when)
            uow.commit()
            return OUT.dump(repo.to_output(customer, actor))

    # --- history, attachments, import ----------------------------------------
    @_rpc
    def get_history(self, customer_id):
        """The modification log, oldest first (contact values masked), with the logs of
        the customers merged into this one (each entry names its ``customer_id``)."""
        actor = self.actor.get()
        with self.db.read_uow() as ro:  # a read: no write lock
            repo.get(ro.session, customer_id, actor)
            return HistoryOutSchema(many=True).dump(merge.history(ro.session, customer_id))

    @_rpc
    def verify_history(self, customer_id):
        """Check the hash chain of the modification log → {valid, entries, broken_at_seq}."""
        actor = self.actor.get()
        with self.db.read_uow() as ro:  # a read: no write lock
            repo.get(ro.session, customer_id, actor)
            return repo.verify_history(ro.session, customer_id)

    @_rpc
    def erase_contact(self, customer_id, contact_id, at=None):
        """Erase a contact person's personal data (PIPL: name, mobile, email, birthday)
        here and, through ``contact_erased``, in every service holding a copy; the
        business records and the audit trail stay (and verify). Managers only.
        → {customer_id, contact_id, erased, history_entries_rewritten}. NotFound,
        Forbidden."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        if not isinstance(contact_id, int) or isinstance(contact_id, bool):
            raise validation_error({"contact_id": "must be an integer"})
        with self.db.uow() as uow:
            customer = repo.get(uow.session, customer_id, actor, for_update=True)
            result = erasure.erase_contact(uow, actor, customer, contact_id, when)
            uow.commit()
            return result

    @_rpc
    def add_attachment(self, customer_id, filename, content_b64, at=None):
        """Attach a .pdf/.jpg (≤ 5 MB, checked by content). ValidationError,
        PayloadTooLarge, NotFound."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        args = load(AttachmentInSchema(), {"filename": filename, "content_b64": content_b64})
        try:
            content = base64.b64decode(args["content_b64"], validate=True)
        except (binascii.Error, ValueError):
            raise validation_error({"content_b64": "not valid base64"}) from None
        if len(content) > domain.MAX_ATTACHMENT_BYTES:
            raise PayloadTooLarge("attachments are limited to 5 MB",
                                  {"content_b64": ["larger than 5 MB"]})
        ctype, problem = domain.attachment_type(args["filename"], content)
        if problem:
            raise validation_error({"filename": problem})
        with self.db.uow() as uow:
            customer = repo.get(uow.session, customer_id, actor, for_update=True)
            digest = hashlib.sha256(content).hexdigest()
            folder = var_dir(self.config) / "attachments" / str(customer.id)
            folder.mkdir(parents=True, exist_ok=True)
            ext = args["filename"][args["filename"].rfind("."):].lower()
            path = folder / f"{digest}{ext}"
            path.write_bytes(content)
            att = Attachment(customer_id=customer.id, filename=args["filename"],
                             content_type=ctype, size=len(content), sha256=digest,
                             path=str(path), uploaded_by=actor.label, created_at=when)
            uow.session.add(att)
            repo.append_history(uow.session, customer.id, actor.label, when, "attachment_added",
                                [{"field": "attachments", "before": None,
                                  "after": args["filename"]}])
            uow.session.flush()
            uow.commit()
            return AttachmentOutSchema().dump(att)

    @_rpc
    def list_attachments(self, customer_id):
        actor = self.actor.get()
        with self.db.read_uow() as ro:  # a read: no write lock
            repo.get(ro.session, customer_id, actor)
            rows = ro.session.query(Attachment).filter_by(customer_id=customer_id) \
                .order_by(Attachment.id).all()
            return AttachmentOutSchema(many=True).dump(rows)

    @_rpc
    def get_attachment(self, customer_id, attachment_id):
        """One attachment's file → {filename, content_type, content_b64} (same access rule
        as the customer: someone else's is NotFound). NotFound."""
        actor = self.actor.get()
        with self.db.uow() as uow:
            repo.get(uow.session, customer_id, actor)
            att = repo.attachment(uow.session, customer_id, attachment_id)
            meta = {"filename": att.filename, "content_type": att.content_type,
                    "path": att.path}
        try:
            content = Path(meta.pop("path")).read_bytes()
        except OSError:
            raise NotFound(f"attachment {attachment_id} not found") from None
        return {**meta, "content_b64": base64.b64encode(content).decode("ascii")}

    @_rpc
    def export_customers(self, filters=None, cursor=None, limit=500):
        """A batch of the customers you may see, filtered like ``list_customers``, in id
        order → {items, next_cursor} (pass ``next_cursor`` back as ``cursor``; None at the
        end). Contacts masked as in the list. No count: made for streaming exports."""
        actor = self.actor.get()
        filters = load(ListFiltersSchema(), filters or {}, scan_skip=("q", "uscc"))
        after, limit = export_args(cursor, limit)
        with self.db.read_uow() as ro:
            ids = repo.export_batch(ro.connection, filters, actor.owner_scope(), after, limit)
            items = [dump_customer(c) for c in listing.outputs(ro.connection, ids, actor)]
        next_cursor = str(items[-1]["id"]) if len(ids) == limit and items else None
        if items:
            self.db.audit.note_read(actor.label, "export", ["customers"], "exported",
                                    "customers.export_customers",
                                    {"count": len(items), "first_id": items[0]["id"],
                                     "last_id": items[-1]["id"]})
        return {"items": items, "next_cursor": next_cursor}

    @_rpc
    def import_customers(self, rows, at=None):
        """Create or update (by USCC) many customers from flat rows →
        {created, updated, errors: [{row, fields}], duplicates: [{row, id, name, reason}]};
        good rows land, bad rows are reported, likely duplicates are warnings."""
        actor = self.actor.get()
        when = actor.resolve_at(at)
        if not isinstance(rows, list) or len(rows) > commands.MAX_ROWS:
            raise validation_error({"rows": f"a list of at most {commands.MAX_ROWS} rows"})
        with self.db.uow() as uow:
            result = commands.import_rows(uow, actor, rows, when)
            uow.commit()
            return result

    # --- events ---------------------------------------------------------------
    @event_handler("sales", "order_placed")
    @event_handler("sales", "order_changed")
    @event_handler("sales", "order_cancelled")
    def on_order_event(self, envelope):
        """Keep the order ledger; recompute tier (and potential → closed)."""
        with self.db.uow() as uow:
            if uow.already_applied(envelope):
                return
            commands.apply_order_event(uow, envelope)
            uow.commit()


