"""``contact_erased``: the erased person's copies in service_desk: tickets' complainant
(name, mobile or email), the customer copy's birthdays and masked contact, and the
care tasks' titles that name them, and the survey-link mails addressed to them
(``services.common.mail_outbox.erase_mail``)."""
from sqlalchemy import select

from services.common import erasure, mail_outbox
from services.service_desk import care_contacts
from services.service_desk.models import CareTask, CustomerCopy, MailOutbox, Ticket

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
    erase_mail(session, data, changed)
    return changed


def erase_mail(session, data, changed):
    """The survey mails of the erased person, in this same transaction: a pending one
    addressed to them (the complainant's address, or the customer's contact) or about a
    ticket whose complainant they were is cancelled; a sent one keeps only its masked
    address, which becomes ``[erased]`` where the mail may have gone to them — the
    tickets they complained on, and the customer's tickets whose complainant left no
    e-mail (so the link went to a contact of the customer: which one is not kept)."""
    addresses = [old.get("complainant_contact") for _, old in changed]
    refs = [f"ticket:{t.id}" for t, _ in changed]
    to_contacts = [f"ticket:{tid}" for tid, contact in session.execute(
        select(Ticket.id, Ticket.complainant_contact).where(
            Ticket.customer_id == data["customer_id"]))
        if not mail_outbox.is_email(contact)]
    return mail_outbox.erase_mail(session, MailOutbox, data, addresses, refs, to_contacts)
