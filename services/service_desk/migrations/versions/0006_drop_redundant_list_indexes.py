"""drop the single-column indexes the keyset list indexes (0004) made redundant

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 08:00:00

Each index dropped here is a prefix of a (column, id) index that migration 0004 added
(named next to it below): on SQLite an index on (col) already ends with the rowid, so
(col) and (col, id) were the same index twice, each written by every insert and
update; on PostgreSQL (col, id) answers whatever (col) answered. No query names an
index, and no unique constraint's index is dropped (docs/performance.md "Redundant
indexes").
"""
from collections.abc import Sequence
from typing import Union

from alembic import op

revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# (dropped index, table, its columns, the index that serves its queries now)
REDUNDANT = (
    ('ix_care_plans_assignee_id', 'care_plans', ['assignee_id'],
     'ix_care_plans_assignee_id_id'),
    ('ix_care_plans_customer_id', 'care_plans', ['customer_id'],
     'ix_care_plans_customer_id_id'),
    ('ix_faqs_category', 'faqs', ['category'], 'ix_faqs_category_id'),
    ('ix_faqs_status', 'faqs', ['status'], 'ix_faqs_status_id'),
)


def upgrade() -> None:
    for name, table, _columns, _kept in REDUNDANT:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns, _kept in reversed(REDUNDANT):
        op.create_index(name, table, columns, unique=False)
