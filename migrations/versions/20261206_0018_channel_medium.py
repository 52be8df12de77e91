"""channels.medium: the kind of address a channel uses (email, sms, post, phone, other)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 20:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

# The channels the first migration created, and the usual codes of ones added
# since; any other code stays 'email' until an admin says otherwise.
KNOWN = {"sms": "sms", "post": "post", "phone": "phone", "phone_calls": "phone", "calls": "phone"}


def upgrade() -> None:
    op.add_column('channels', sa.Column('medium', sa.String(length=16), server_default='email', nullable=False))
    channels = sa.table('channels', sa.column('code', sa.String), sa.column('medium', sa.String))
    for code, medium in KNOWN.items():
        op.execute(channels.update().where(channels.c.code == code).values(medium=medium))


def downgrade() -> None:
    with op.batch_alter_table('channels', schema=None) as batch_op:
        batch_op.drop_column('medium')
