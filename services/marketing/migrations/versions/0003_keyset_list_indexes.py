"""keyset list indexes (issue 20): (filter column, id) for campaigns and participants

Revision ID: 0003
Revises: 0002
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

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

INDEXES = (
    ('ix_campaigns_owner_id_id', 'campaigns', ['owner_id', 'id']),
    ('ix_campaigns_state_id', 'campaigns', ['state', 'id']),
    ('ix_campaigns_format_id', 'campaigns', ['format', 'id']),
    ('ix_campaign_participants_campaign_id_id', 'campaign_participants', ['campaign_id', 'id']),
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
