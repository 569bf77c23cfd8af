"""drop the single-column indexes the keyset list indexes (0003) made redundant; the
outreach log's (campaign_id, id) for its keyset paging

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 08:00:00

Each index dropped here is a prefix of a (column, id) index (0003, or added here) or of
a unique constraint's index (named next to it below): on SQLite an index on (col)
already ends with the rowid, so (col) and (col, id) were the same index twice, each
written by every insert and update; on PostgreSQL (col, id) answers whatever (col)
answered (an equality on col, the foreign key's cascade). The audience is paged by
customer_id within its campaign through uq_audience_member (campaign_id, customer_id),
which also serves every look-up by campaign. No query names an index, and no unique
constraint's index is dropped (docs/performance.md "Redundant indexes").
"""
from collections.abc import Sequence
from typing import Union

from alembic import op

revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ADDED = (
    ('ix_campaign_outreach_campaign_id_id', 'campaign_outreach', ['campaign_id', 'id']),
)
# (dropped index, table, its columns, the index that serves its queries now)
REDUNDANT = (
    ('ix_campaigns_format', 'campaigns', ['format'], 'ix_campaigns_format_id'),
    ('ix_campaigns_owner_id', 'campaigns', ['owner_id'], 'ix_campaigns_owner_id_id'),
    ('ix_campaigns_state', 'campaigns', ['state'], 'ix_campaigns_state_id'),
    ('ix_campaign_participants_campaign_id', 'campaign_participants', ['campaign_id'],
     'ix_campaign_participants_campaign_id_id'),
    ('ix_campaign_audience_campaign_id', 'campaign_audience', ['campaign_id'],
     'uq_audience_member'),
    ('ix_campaign_outreach_campaign_id', 'campaign_outreach', ['campaign_id'],
     'ix_campaign_outreach_campaign_id_id'),
)


def upgrade() -> None:
    for name, table, columns in ADDED:
        op.create_index(name, table, columns, unique=False)
    for name, table, _columns, _kept in REDUNDANT:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, columns, _kept in reversed(REDUNDANT):
        op.create_index(name, table, columns, unique=False)
    for name, table, _columns in reversed(ADDED):
        op.drop_index(name, table_name=table)
