"""data_requests: when the person was told their restriction would be lifted, from when, and whether by e-mail (GDPR art. 18(3))

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 11:30:00
"""
from alembic import op
import sqlalchemy as sa

from consent_center.db import UTCDateTime


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('data_requests', sa.Column('lift_told_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('data_requests', sa.Column('lift_at', UTCDateTime(timezone=True), nullable=True))
    op.add_column('data_requests', sa.Column('lift_by_email', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('data_requests', schema=None) as batch_op:
        batch_op.drop_column('lift_by_email')
        batch_op.drop_column('lift_at')
        batch_op.drop_column('lift_told_at')
