"""keyset list indexes (issue 20): (filter column, id) for care plans and FAQ

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 05:00:00

A list page reads an equality filter's rows in id order from a (column, id) index
(forward or backward), so a keyset page and the capped count stop after
page_size + 1 / 1,001 rows instead of sorting every match (services.common.paging,
docs/performance.md). On SQLite a single-column index already ends with the rowid;
PostgreSQL needs the id in the index to read the rows in id order.
"""
from collections.abc import Sequence
from typing import Union

from alembic import op

revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES = (
    ('ix_care_plans_assignee_id_id', 'care_plans', ['assignee_id', 'id']),
    ('ix_care_plans_customer_id_id', 'care_plans', ['customer_id', 'id']),
    ('ix_faqs_status_id', 'faqs', ['status', 'id']),
    ('ix_faqs_category_id', 'faqs', ['category', 'id']),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ANALYZE')
    else:
        for table in sorted({table for _, table, _ in INDEXES}):
            op.execute(f'ANALYZE {table}')


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
