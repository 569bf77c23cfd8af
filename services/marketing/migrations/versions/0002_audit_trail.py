"""audit trail (services.common.audit): audit_log, one keyed hash chain per service, and
audit_head, its signed head

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 04:55:00

"""
from collections.abc import Sequence
from typing import Union

import sqlalchemy as sa
from alembic import op

import services.common.models

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'audit_log',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  autoincrement=True, nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('at', services.common.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('via', sa.String(length=128), nullable=True),
        sa.Column('record_type', sa.String(length=32), nullable=False),
        sa.Column('record_id', sa.String(length=64), nullable=False),
        sa.Column('record_index', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('before', sa.JSON(), nullable=True),
        sa.Column('after', sa.JSON(), nullable=True),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('record_prev', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('seq'),
        sa.UniqueConstraint('record_type', 'record_id', 'record_index',
                            name='uq_audit_record_index'),
    )
    op.create_index('ix_audit_log_at', 'audit_log', ['at'], unique=False)
    op.create_table(
        'audit_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('mac', sa.String(length=64), nullable=False),
        sa.Column('at', services.common.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('audit_head')
    op.drop_index('ix_audit_log_at', table_name='audit_log')
    op.drop_table('audit_log')
