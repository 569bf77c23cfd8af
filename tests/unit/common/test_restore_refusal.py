"""``crm restore`` checks every selected dump and target before it touches any:
a refusal for one service leaves the others as they were (it used to restore the
services before the refused one, then stop half-way)."""
import sqlite3

import pytest

from services.common.backup import RestoreError, backup, restore


def _db(path, rows):
    with sqlite3.connect(path) as c:
        c.execute("create table items (id integer primary key, name text)")
        c.executemany("insert into items (name) values (?)", [(f"n{i}",) for i in range(rows)])
    c.close()


def _count(path):
    with sqlite3.connect(path) as c:
        n = c.execute("select count(*) from items").fetchone()[0]
    c.close()
    return n


def test_a_refused_target_stops_the_restore_before_any_database_is_touched(tmp_path):
    src = {"customers": tmp_path / "src-customers.db", "sales": tmp_path / "src-sales.db"}
    _db(src["customers"], 3)
    _db(src["sales"], 4)
    manifest = backup({"DB_URIS": {s: f"sqlite:///{p}" for s, p in src.items()}},
                      tmp_path / "dump", services=["customers", "sales"])
    assert list(manifest["services"]) == ["customers", "sales"]
    dst = {"customers": tmp_path / "dst-customers.db", "sales": tmp_path / "dst-sales.db"}
    _db(dst["sales"], 1)  # sales' target holds data; customers' does not exist yet
    config = {"DB_URIS": {s: f"sqlite:///{p}" for s, p in dst.items()}}
    with pytest.raises(RestoreError, match="sales: the target database holds data"):
        restore(config, tmp_path / "dump")
    assert not dst["customers"].exists()  # not restored before the refusal
    assert _count(dst["sales"]) == 1
    restored = restore(config, tmp_path / "dump", force=True)
    assert restored["customers"]["items"] == 3 and _count(dst["sales"]) == 4
