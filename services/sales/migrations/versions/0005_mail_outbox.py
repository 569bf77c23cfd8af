"""mail: mail_outbox (services.common.mail_outbox), follow_ups.notified_at and
staff_emails (where a salesperson's follow-up notices go)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 06:40:00

"""
from collections.abc import Sequence
from typing import Union

import sqlalchemy as sa
from alembic import op

import services.common.models

revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def create_mail_outbox() -> None:
    op.create_table(
        'mail_outbox',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  autoincrement=True, nullable=False),
        sa.Column('message_id', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('ref', sa.String(length=64), nullable=True),
        sa.Column('recipient', sa.String(length=254), nullable=True),
        sa.Column('recipient_masked', sa.String(length=254), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', services.common.models.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.Column('created_at', services.common.models.UTCDateTime(timezone=True),
                  nullable=False),
        sa.Column('sent_at', services.common.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id'),
    )
    op.create_index('ix_mail_outbox_due', 'mail_outbox', ['status', 'next_attempt_at'],
                    unique=False)
    op.create_index(op.f('ix_mail_outbox_ref'), 'mail_outbox', ['ref'], unique=False)


def upgrade() -> None:
    create_mail_outbox()
    op.create_table(
        'staff_emails',
        sa.Column('staff_id', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('updated_at', services.common.models.UTCDateTime(timezone=True),
                  nullable=False),
        sa.PrimaryKeyConstraint('staff_id'),
    )
    with op.batch_alter_table('follow_ups') as batch:
        batch.add_column(sa.Column('notified_at',
                                   services.common.models.UTCDateTime(timezone=True),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('follow_ups') as batch:
        batch.drop_column('notified_at')
    op.drop_table('staff_emails')
    op.drop_index(op.f('ix_mail_outbox_ref'), table_name='mail_outbox')
    op.drop_index('ix_mail_outbox_due', table_name='mail_outbox')
    op.drop_table('mail_outbox')
