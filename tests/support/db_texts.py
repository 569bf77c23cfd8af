"""Every stored text of a set of databases, for tests that prove a value is gone
(erasure) or never stored (PII): JSON columns as their text, every table reflected."""
import json

from sqlalchemy import MetaData, select


def texts(engine):
    """Every text value (JSON as its text) of every table: (table, value)."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, (dict, list)):
                        value = json.dumps(value, ensure_ascii=False)
                    if isinstance(value, str):
                        yield table.name, value


def found(engines, needles):
    """[(service, table, needle)] for every needle held in any text of ``engines``
    ({service: engine})."""
    return [(s, t, n) for s, e in engines.items() for t, v in texts(e)
            for n in needles if n in v]
