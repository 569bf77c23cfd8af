"""search index (bigram postings + normalised text) and (column, id) list indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 04:10:00

Lists read an equality filter's rows in id order from a (column, id) index, so a keyset
page and the capped count stop early (docs/performance.md). Existing customers are
indexed for search here; SQLite gets ANALYZE statistics (services.common.uow runs a
bounded ANALYZE at every start as well).
"""
from collections.abc import Sequence
from typing import Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_OLD = ('industry_code', 'owner_id', 'region', 'tier', 'type')
_NEW = (('ix_customers_owner_id_id', ['owner_id', 'id']),
        ('ix_customers_type_id', ['type', 'id']),
        ('ix_customers_tier_id', ['tier', 'id']),
        ('ix_customers_region_id', ['region', 'id']),
        ('ix_customers_industry_id', ['industry_code', 'id']),
        ('ix_customers_name_id', ['name', 'id']),
        ('ix_customers_updated_id', ['updated_at', 'id']),
        ('ix_customers_created_id', ['created_at', 'id']))


def upgrade() -> None:
    op.create_table(
        'customer_search',
        sa.Column('customer_id', _BIGINT, autoincrement=False, nullable=False),
        sa.Column('name_norm', sa.String(length=200).with_variant(
            sa.String(length=200, collation='C'), 'postgresql'), nullable=False),
        sa.Column('doc', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('customer_id'))
    op.create_index('ix_customer_search_name', 'customer_search',
                    ['name_norm', 'customer_id'], unique=False)
    op.create_table(
        'customer_search_tokens',
        sa.Column('token', sa.String(length=16), nullable=False),
        sa.Column('customer_id', _BIGINT, autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token', 'customer_id'),
        sqlite_with_rowid=False)
    op.create_index('ix_customer_search_tokens_customer_id', 'customer_search_tokens',
                    ['customer_id'], unique=False)
    with op.batch_alter_table('customers', schema=None) as batch_op:
        for col in _OLD:
            batch_op.drop_index(f'ix_customers_{col}')
        batch_op.drop_index('ix_customers_owner_type')
        batch_op.create_index('ix_customers_owner_type', ['owner_id', 'type', 'id'],
                              unique=False)
        for name, cols in _NEW:
            batch_op.create_index(name, cols, unique=False)
    with op.batch_alter_table('customer_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_tags_tag')
        batch_op.create_index('ix_customer_tags_tag_customer', ['tag', 'customer_id'],
                              unique=False)
    _backfill()
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ANALYZE')
    else:
        op.execute('ANALYZE customers')


def _backfill():
    """Index the customers already there (values as services.customers.search)."""
    from services.customers import search
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(sa.text(
            'SELECT id, name, needs FROM customers WHERE id > :last AND merged_into_id IS NULL '
            'ORDER BY id LIMIT 2000'),
            {'last': last}).all()
        if not rows:
            return
        ids = [r[0] for r in rows]
        extra = {i: ([], [], []) for i in ids}
        for cid, name, mobile in conn.execute(sa.text(
                'SELECT customer_id, name, mobile FROM contacts WHERE customer_id >= :a '
                'AND customer_id <= :b ORDER BY id'), {'a': ids[0], 'b': ids[-1]}):
            if cid in extra:
                extra[cid][0].append(name)
                extra[cid][2].append(mobile)
        for cid, tag in conn.execute(sa.text(
                'SELECT customer_id, tag FROM customer_tags WHERE customer_id >= :a '
                'AND customer_id <= :b'), {'a': ids[0], 'b': ids[-1]}):
            if cid in extra:
                extra[cid][1].append(tag)
        docs, toks = [], []
        for cid, name, needs in rows:
            cnames, tags, mobiles = extra[cid]
            doc, tk = search.document(name, needs, cnames, tags, mobiles)
            docs.append({'customer_id': cid, **doc})
            toks += [{'token': t, 'customer_id': cid} for t in sorted(tk)]
        conn.execute(sa.text('INSERT INTO customer_search (customer_id, name_norm, doc) '
                             'VALUES (:customer_id, :name_norm, :doc)'), docs)
        if toks:
            conn.execute(sa.text('INSERT INTO customer_search_tokens (token, customer_id) '
                                 'VALUES (:token, :customer_id)'), toks)
        last = ids[-1]


def downgrade() -> None:
    with op.batch_alter_table('customer_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_tags_tag_customer')
        batch_op.create_index('ix_customer_tags_tag', ['tag'], unique=False)
    with op.batch_alter_table('customers', schema=None) as batch_op:
        for name, _ in _NEW:
            batch_op.drop_index(name)
        batch_op.drop_index('ix_customers_owner_type')
        batch_op.create_index('ix_customers_owner_type', ['owner_id', 'type'], unique=False)
        for col in _OLD:
            batch_op.create_index(f'ix_customers_{col}', [col], unique=False)
    op.drop_index('ix_customer_search_tokens_customer_id', table_name='customer_search_tokens')
    op.drop_table('customer_search_tokens')
    op.drop_index('ix_customer_search_name', table_name='customer_search')
    op.drop_table('customer_search')
