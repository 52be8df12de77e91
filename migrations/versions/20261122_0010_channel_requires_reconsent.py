"""channels: requires_reconsent (grants not renewed after a material policy change lapse for the check API)

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-22 05:15:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not in batch mode: SQLite adds a column with a default in place, where
    # a batch would copy the table every consent points to.
    op.add_column('channels', sa.Column('requires_reconsent', sa.Boolean(), server_default=sa.false(),
                                        nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_column('requires_reconsent')
