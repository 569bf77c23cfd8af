"""customer merges: rpt_customer_merges (merged → kept customer) and customer_id indexes
on rpt_leads and rpt_participants (a merge re-points their rows)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 04:10:00.000000
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'rpt_customer_merges',
        sa.Column('merge_id', sa.String(length=64), nullable=False),
        sa.Column('keep_id', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('merge_id'))
    with op.batch_alter_table('rpt_customer_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rpt_customer_merges_keep_id'), ['keep_id'],
                              unique=False)
    with op.batch_alter_table('rpt_leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rpt_leads_customer_id'), ['customer_id'],
                              unique=False)
    with op.batch_alter_table('rpt_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rpt_participants_customer_id'), ['customer_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rpt_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rpt_participants_customer_id'))
    with op.batch_alter_table('rpt_leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rpt_leads_customer_id'))
    with op.batch_alter_table('rpt_customer_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rpt_customer_merges_keep_id'))
    op.drop_table('rpt_customer_merges')
