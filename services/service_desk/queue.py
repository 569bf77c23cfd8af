"""The service queue's clock rules (plain functions): which SLA clock is running and
how it stands now. ``ticket`` is anything with the ticket's attributes."""
import datetime as dt

ACTIVE = ("open", "in_progress")
AMBER_WINDOW = dt.timedelta(hours=1)


def next_due(ticket):
    """Due time of the clock now running: first response until answered, then
    resolution; None once the ticket is resolved or closed."""
    if ticket.status not in ACTIVE:
        return None
    if ticket.first_responded_at is None:
        return ticket.first_response_due_at
    return ticket.resolution_due_at


def clock_state(due_at, done_at, now):
    """'done' (in time), 'late' (done after due), 'breached' (not done, past due),
    'amber' (due within the hour), 'running'; None without a clock."""
    if due_at is None:
        return None
    if done_at is not None:
        return "done" if done_at <= due_at else "late"
    if now >= due_at:
        return "breached"
    if due_at - now <= AMBER_WINDOW:
        return "amber"
    return "running"
