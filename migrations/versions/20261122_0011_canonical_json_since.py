"""canonical_json_since: JSON columns are stored as canonical JSON from this event on

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        'canonical_json_since',
        sa.Column('first_event_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('first_event_id', name=op.f('pk_canonical_json_since')),
    )
    # Events already in the ledger keep the text they were stored with (the
    # ledger is append-only); the engine writes canonical JSON from now on.
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # Writers still inside a transaction hold ids below what max() sees
        # only once they commit: wait for them, and hold new ones back.
        op.execute("LOCK TABLE consent_events IN SHARE MODE")
    first = bind.scalar(sa.text("SELECT coalesce(max(id), 0) + 1 FROM consent_events"))
    op.bulk_insert(table, [{'first_event_id': first}])


def downgrade() -> None:
    op.drop_table('canonical_json_since')
