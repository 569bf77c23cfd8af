"""duplicate detection keys (name_key, similar_key, contacts.mobile index) and merge
tombstones (merged_into_id, merged_at)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 03:50:00.000000

Existing customers get their keys computed here (services.customers.names), in
batches by id, so the duplicate check sees them at once.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from services.common.models import UTCDateTime
from services.customers.names import keys

# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('similar_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('merged_into_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('merged_at', UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_customers_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_similar_key'), ['similar_key'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_customers_merged_into_id'), ['merged_into_id'],
                              unique=False)
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_mobile'), ['mobile'], unique=False)
    _backfill(op.get_bind())


def _backfill(conn):
    table = sa.table('customers', sa.column('id'), sa.column('name'), sa.column('region'),
                     sa.column('name_key'), sa.column('similar_key'))
    update = table.update().where(table.c.id == sa.bindparam('cid')).values(
        name_key=sa.bindparam('nk'), similar_key=sa.bindparam('sk'))
    after = 0
    while True:
        rows = conn.execute(sa.select(table.c.id, table.c.name, table.c.region)
                            .where(table.c.id > after).order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        params = []
        for cid, name, region in rows:
            k = keys(name, region)
            params.append({"cid": cid, "nk": k["name_key"], "sk": k["similar_key"]})
        conn.execute(update, params)
        after = rows[-1][0]


def downgrade() -> None:
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contacts_mobile'))
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_merged_into_id'))
        batch_op.drop_index(batch_op.f('ix_customers_similar_key'))
        batch_op.drop_index(batch_op.f('ix_customers_name_key'))
        batch_op.drop_column('merged_at')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('similar_key')
        batch_op.drop_column('name_key')
