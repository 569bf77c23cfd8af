"""``contact_erased``: the erased person's copies in service_desk: tickets' complainant
(name, mobile or email), the customer copy's birthdays and masked contact, and the
care tasks' titles that name them."""
from sqlalchemy import select

from services.common import erasure
from services.service_desk import care_contacts
from services.service_desk.models import CareTask, CustomerCopy, Ticket

COMPLAINANT = {"complainant_name": ("name",), "complainant_contact": ("mobile", "email")}


def erase(session, data):
    changed = erasure.erase_rows(session, Ticket, COMPLAINANT, data, without_customer=True)
    names = {v for _, old in changed for v in old.values()}
    copy = session.get(CustomerCopy, data["customer_id"])
    if copy is not None:
        kept = []
        for e in care_contacts.held(copy.birthdays):
            if e.get("contact_id") == data["contact_id"] or erasure.matches(
                    data, "name", e.get("name")):
                names.add(e.get("name"))
            else:
                kept.append(e)
        if len(kept) != len(copy.birthdays or []):
            copy.birthdays = kept
        shown = (copy.contact_masked or "").split(" ")[0]
        if shown and erasure.matches(data, "name", shown):
            names.add(shown)
            copy.contact_masked = None
    if names:
        for task in session.scalars(select(CareTask).where(
                CareTask.customer_id == data["customer_id"])):
            title = erasure.scrub_text(task.title, names)
            if title != task.title:
                task.title = title
    return changed
