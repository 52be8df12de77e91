"""channels: shares_with_partners and the partners named per locale (a purpose only explicit consent turns on)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not in batch mode: SQLite adds a column with a default in place, where
    # a batch would copy the table every consent points to. Every existing
    # channel shares nothing: its consents named no partners.
    op.add_column('channels', sa.Column('shares_with_partners', sa.Boolean(), server_default=sa.false(),
                                        nullable=False))
    op.add_column('channels', sa.Column('partners', sa.JSON(), server_default='{}', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_column('partners')
        batch_op.drop_column('shares_with_partners')
