"""undeliverable_addresses: the messages an address's soft bounces were, so a message reported twice counts once

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('undeliverable_addresses', sa.Column('soft_bounce_messages', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('undeliverable_addresses', schema=None) as batch_op:
        batch_op.drop_column('soft_bounce_messages')
