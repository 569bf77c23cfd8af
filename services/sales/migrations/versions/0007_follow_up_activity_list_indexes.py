"""keyset list indexes (issue 20) for follow-ups (due_at, id) and activities (id); the
single-column indexes they replace dropped

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 08:10:00

list_follow_ups pages by (due_at, id) and list_activities by id, with a cursor
(services.common.paging). Each filter leads an index that ends with the list's order,
so a page is one index range scan however deep: the staff scope + status (also the
header's overdue / due-today counts), status alone (the overdue list, the due-mail
timer), the opportunity's follow-ups, none. Each dropped index is a prefix of one
added here (named next to it), so whatever it answered (an equality or range, the
foreign key's cascade) the new one answers.
"""
from collections.abc import Sequence
from typing import Union

from alembic import op

revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ADDED = (
    ('ix_follow_ups_due_id', 'follow_ups', ['due_at', 'id']),
    ('ix_follow_ups_status_due_id', 'follow_ups', ['status', 'due_at', 'id']),
    ('ix_follow_ups_owner_status_due_id', 'follow_ups', ['owner_id', 'status', 'due_at', 'id']),
    ('ix_follow_ups_opportunity_due_id', 'follow_ups', ['opportunity_id', 'due_at', 'id']),
    ('ix_activities_opportunity_id_id', 'activities', ['opportunity_id', 'id']),
    ('ix_activities_owner_id_id', 'activities', ['owner_id', 'id']),
)
# (dropped index, table, its columns, the index that serves its queries now)
REPLACED = (
    ('ix_follow_ups_due_at', 'follow_ups', ['due_at'], 'ix_follow_ups_due_id'),
    ('ix_follow_ups_open_due', 'follow_ups', ['status', 'due_at'],
     'ix_follow_ups_status_due_id'),
    ('ix_follow_ups_status', 'follow_ups', ['status'], 'ix_follow_ups_status_due_id'),
    ('ix_follow_ups_owner_id', 'follow_ups', ['owner_id'],
     'ix_follow_ups_owner_status_due_id'),
    ('ix_follow_ups_opportunity_id', 'follow_ups', ['opportunity_id'],
     'ix_follow_ups_opportunity_due_id'),
    ('ix_activities_opportunity_id', 'activities', ['opportunity_id'],
     'ix_activities_opportunity_id_id'),
)


def upgrade() -> None:
    for name, table, columns in ADDED:
        op.create_index(name, table, columns, unique=False)
    for name, table, _columns, _kept in REPLACED:
        op.drop_index(name, table_name=table)
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ANALYZE')
    else:
        for table in ('activities', 'follow_ups'):
            op.execute(f'ANALYZE {table}')


def downgrade() -> None:
    for name, table, columns, _kept in reversed(REPLACED):
        op.create_index(name, table, columns, unique=False)
    for name, table, _columns in reversed(ADDED):
        op.drop_index(name, table_name=table)
