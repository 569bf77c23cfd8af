"""``contact_erased``: the erased person's copy in sales' leads (name, mobile, email),
and in follow-up mails not yet sent (they go to staff, never to a customer's contact,
but a note may quote the person: ``services.common.mail_outbox.scrub_mail``)."""
from services.common import erasure, mail_outbox
from services.sales.models import Lead, MailOutbox

LEAD_CONTACT = {"contact_name": ("name",), "contact_mobile": ("mobile",),
                "contact_email": ("email",)}


def erase(session, data):
    """Leads of the customer, and leads of no customer with the person's mobile/email."""
    changed = erasure.erase_rows(session, Lead, LEAD_CONTACT, data, without_customer=True)
    mail_outbox.scrub_mail(session, MailOutbox, {v for _, old in changed
                                                 for v in old.values()})
    return changed
