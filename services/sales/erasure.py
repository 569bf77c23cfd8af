"""``contact_erased``: the erased person's copy in sales' leads (name, mobile, email)."""
from services.common import erasure
from services.sales.models import Lead

LEAD_CONTACT = {"contact_name": ("name",), "contact_mobile": ("mobile",),
                "contact_email": ("email",)}


def erase(session, data):
    """Leads of the customer, and leads of no customer with the person's mobile/email."""
    return erasure.erase_rows(session, Lead, LEAD_CONTACT, data, without_customer=True)
