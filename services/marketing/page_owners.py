"""Owners picked by name (issue 19 walk: the campaign form's owner and the milestone
owners were boxes to type an employee id such as ``mk1`` into).

The lists come from the directory (marketing's people and the managers, as the service
desk queue's agent filter picks from its roster), plus the signed-in user and whoever
already owns the campaign or a milestone, so a saved owner is always shown by name.
Staff own only their own campaigns (the service's rule): their campaign-owner list is
themselves (and the current owner); managers may hand a campaign to anyone listed.
The page still posts the id; an id not in the list is a 422 next to its field and
nothing is called."""
from services.common.web import directory

DEPARTMENTS = {"marketing"}


def _named(ids):
    return [(uid, directory.display_name({"id": uid})) for uid in ids if uid]


def people(ctx, *current):
    """Milestone owners: the directory's marketing people and managers, the signed-in
    user and the ``current`` owners → [(id, name)]."""
    out = directory.people(DEPARTMENTS)
    me = (ctx.actor or {}).get("id")
    known = {uid for uid, _ in out}
    for uid, name in _named([me, *current]):
        if uid not in known:
            out.append((uid, name))
            known.add(uid)
    return out


def campaign_owners(ctx, *current):
    """Who may own the campaign on this form: managers anyone listed, staff themselves
    (and the campaign's current owner, shown as it is)."""
    if ctx.is_manager:
        return people(ctx, *current)
    me = (ctx.actor or {}).get("id")
    return _named(dict.fromkeys([me, *current]))


def check(form, field, choices, t, required=True):
    """Put an error next to ``field`` when its posted id is not one of ``choices``
    (or is missing while required); True when the value is fine."""
    value = (form.value(field) or "").strip()
    if not value:
        if required:
            form.add_error(field, t("mk.owner.required"))
            return False
        return True
    if value not in {uid for uid, _ in choices}:
        form.add_error(field, t("mk.owner.unknown"))
        return False
    return True
