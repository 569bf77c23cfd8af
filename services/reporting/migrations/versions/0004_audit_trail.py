"""audit trail (services.common.audit): audit_log, one keyed hash chain per service, and
audit_head, its signed head; rpt_audit_checkpoints: the services' signed heads

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 04:55:00

"""
from collections.abc import Sequence
from typing import Union

import sqlalchemy as sa
from alembic import op

import services.common.models

revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
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
    op.create_table(
        'rpt_audit_checkpoints',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  autoincrement=True, nullable=False),
        sa.Column('service', sa.String(length=32), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('mac', sa.String(length=64), nullable=False),
        sa.Column('signed_at', sa.String(length=40), nullable=False),
        sa.Column('received_at', services.common.models.UTCDateTime(timezone=True),
                  nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_rpt_audit_checkpoints_service_seq', 'rpt_audit_checkpoints',
                    ['service', 'seq'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_rpt_audit_checkpoints_service_seq', table_name='rpt_audit_checkpoints')
    op.drop_table('rpt_audit_checkpoints')
    op.drop_table('audit_head')
    op.drop_index('ix_audit_log_at', table_name='audit_log')
    op.drop_table('audit_log')
