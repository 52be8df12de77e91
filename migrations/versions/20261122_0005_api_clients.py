"""api clients (hashed keys with scopes); the change feed's transaction ids

Revision ID: 0005
Revises: 0006
Create Date: 2026-11-22 02:10:16.386764

``consent_events.txid`` is the writing transaction's id on PostgreSQL
(``pg_current_xact_id()``), so the change feed serves an event only once
every transaction that could still add an event before it has ended. On
SQLite it stays NULL: writers there are serialised and commit in id order.
"""
from alembic import op
import sqlalchemy as sa
import consent_center.db


revision = '0005'
down_revision = '0006'
branch_labels = None
depends_on = None

TXID_DEFAULT = "(pg_current_xact_id()::text::bigint)"


def upgrade() -> None:
    op.create_table('api_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('key_prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('created_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', consent_center.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', consent_center.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_clients')),
    sa.UniqueConstraint('key_prefix', name=op.f('uq_api_clients_key_prefix'))
    )
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('txid', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_consent_events_txid_id', ['txid', 'id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # Events already stored have all committed: they come first, in id order.
        # The default is set after the backfill so that adding the column
        # does not rewrite the table a second time.
        op.execute("UPDATE consent_events SET txid = 0")
        op.execute(f"ALTER TABLE consent_events ALTER COLUMN txid SET DEFAULT {TXID_DEFAULT}")


def downgrade() -> None:
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_events_txid_id')
        batch_op.drop_column('txid')

    op.drop_table('api_clients')
