"""workspace indexes: board columns per owner, column totals, My day's new leads

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 03:55:00

"""
from typing import Sequence, Union

from alembic import op

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_opportunities_owner_stage', 'opportunities',
                    ['owner_id', 'stage', 'expected_close_date', 'amount'],
                    unique=False)
    op.create_index('ix_opportunities_stage_amount', 'opportunities', ['stage', 'amount'],
                    unique=False)
    op.create_index('ix_leads_owner_status_assigned', 'leads',
                    ['owner_id', 'status', 'assigned_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_leads_owner_status_assigned', table_name='leads')
    op.drop_index('ix_opportunities_stage_amount', table_name='opportunities')
    op.drop_index('ix_opportunities_owner_stage', table_name='opportunities')
