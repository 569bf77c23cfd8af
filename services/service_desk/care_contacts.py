"""The contacts' birthdays in service_desk's copy of a customer, each under a stable key.

Birthday greetings are keyed by contact, not by name (two contacts called 张伟 are two
greetings). service_desk learns contacts only from ``customers.get_customer`` (events
carry no contact PII); each contact there has an ``id``, but customers writes a
customer's contacts anew on every change of them, so the id of an unchanged contact
changes too. The copy therefore keeps its own key per contact:

1. an incoming contact with the id and the name of a held one keeps its key;
2. else one with the name and birthday of a held one not yet claimed keeps that key
   (held order: two identical 张伟 pair up in order);
3. else it gets a new key ``c<id>`` (``c<id>-<n>`` if that is taken).

A contact whose name and birthday both change at once between two syncs is taken for a
new contact. Copies written before keys existed hold ``[name, "YYYY-MM-DD"]`` pairs;
they read as keys ``n0``, ``n1``… in their order, and rule 2 carries those keys over.

Stored form (``CustomerCopy.birthdays``): ``[{"key", "contact_id", "name", "birthday"}]``.
"""
import datetime as dt


def incoming(customer):
    """The contacts with a birthday of a ``customers.get_customer`` result."""
    return [{"contact_id": c.get("id"), "name": c.get("name"), "birthday": c["birthday"]}
            for c in (customer.get("contacts") or []) if c.get("birthday")]


def held(stored):
    """The stored list as entries with keys (legacy pairs get ``n<i>``)."""
    out = []
    for i, e in enumerate(stored or []):
        if isinstance(e, dict):
            out.append(dict(e))
        else:
            name, born = e
            out.append({"key": f"n{i}", "contact_id": None, "name": name, "birthday": born})
    return out


def merge(stored, contacts):
    """The entries to store for ``contacts`` (from ``incoming``), keys carried over
    from ``stored`` by the rules above."""
    old = held(stored)
    taken = {e["key"] for e in old}
    claimed = set()
    out = [None] * len(contacts)
    for i, c in enumerate(contacts):  # rule 1: same contact id and name
        for j, e in enumerate(old):
            if j not in claimed and c["contact_id"] is not None \
                    and e.get("contact_id") == c["contact_id"] and e["name"] == c["name"]:
                claimed.add(j)
                out[i] = dict(c, key=e["key"])
                break
    for i, c in enumerate(contacts):  # rule 2: same name and birthday
        if out[i] is not None:
            continue
        for j, e in enumerate(old):
            if j not in claimed and (e["name"], e["birthday"]) == (c["name"], c["birthday"]):
                claimed.add(j)
                out[i] = dict(c, key=e["key"])
                break
    for i, c in enumerate(contacts):  # rule 3: a new key
        if out[i] is not None:
            continue
        base = f"c{c['contact_id']}" if c["contact_id"] is not None else f"n{len(taken)}"
        key, n = base, 1
        while key in taken:
            key, n = f"{base}-{n}", n + 1
        taken.add(key)
        out[i] = dict(c, key=key)
    return out


def birthdays(stored):
    """[(key, name, birthday date)] of a copy's stored list."""
    return [(e["key"], e["name"], dt.date.fromisoformat(e["birthday"]))
            for e in held(stored) if e.get("birthday")]
