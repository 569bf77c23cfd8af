"""customer_search_tokens without its foreign key to customers (issue 20: the import's
index insert paid a parent look-up per posting, ~30 a customer; PostgreSQL's per-row
RI trigger doubled the server CPU of that insert)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 06:55:00

"""
from collections.abc import Sequence
from typing import Union

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_TABLE, _INDEX = 'customer_search_tokens', 'ix_customer_search_tokens_customer_id'


def _rebuild_sqlite(with_fk):
    """SQLite cannot drop or add a constraint: copy into a new table (key order)."""
    fks = [sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE')] \
        if with_fk else []
    op.create_table(
        f'{_TABLE}_new',
        sa.Column('token', sa.String(length=16), nullable=False),
        sa.Column('customer_id', _BIGINT, autoincrement=False, nullable=False),
        *fks,
        sa.PrimaryKeyConstraint('token', 'customer_id'),
        sqlite_with_rowid=False)
    op.execute(f'INSERT INTO {_TABLE}_new (token, customer_id) '
               f'SELECT token, customer_id FROM {_TABLE} ORDER BY token, customer_id')
    op.drop_index(_INDEX, table_name=_TABLE)
    op.drop_table(_TABLE)
    op.rename_table(f'{_TABLE}_new', _TABLE)
    op.create_index(_INDEX, _TABLE, ['customer_id'], unique=False)


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_sqlite(with_fk=False)
        return
    for fk in sa.inspect(op.get_bind()).get_foreign_keys(_TABLE):
        op.drop_constraint(fk['name'], _TABLE, type_='foreignkey')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_sqlite(with_fk=True)
        return
    op.create_foreign_key('customer_search_tokens_customer_id_fkey', _TABLE, 'customers',
                          ['customer_id'], ['id'], ondelete='CASCADE')
