"""keyset list indexes (issue 20): (filter column, id) for leads, opportunities, orders

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
    ('ix_leads_status_id', 'leads', ['status', 'id']),
    ('ix_leads_source_id', 'leads', ['source', 'id']),
    ('ix_leads_owner_id_id', 'leads', ['owner_id', 'id']),
    ('ix_leads_owner_status_id', 'leads', ['owner_id', 'status', 'id']),
    ('ix_leads_region_id', 'leads', ['region', 'id']),
    ('ix_leads_industry_id', 'leads', ['industry_code', 'id']),
    ('ix_opportunities_owner_id_id', 'opportunities', ['owner_id', 'id']),
    ('ix_opportunities_stage_id', 'opportunities', ['stage', 'id']),
    ('ix_opportunities_owner_stage_id', 'opportunities', ['owner_id', 'stage', 'id']),
    ('ix_opportunities_close_id', 'opportunities', ['expected_close_date', 'id']),
    ('ix_orders_owner_id_id', 'orders', ['owner_id', 'id']),
    ('ix_orders_status_id', 'orders', ['status', 'id']),
    ('ix_orders_owner_status_id', 'orders', ['owner_id', 'status', 'id']),
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
