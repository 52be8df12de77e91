"""webhook endpoints: receivers of consent.changed, with their signing secrets

Revision ID: 0009
Revises: 0003
Create Date: 2026-11-22 03:22:52.095682
"""
from alembic import op
import sqlalchemy as sa
import consent_center.db


revision = '0009'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('disabled_at', consent_center.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
    sa.UniqueConstraint('public_id', name=op.f('uq_webhook_endpoints_public_id'))
    )


def downgrade() -> None:
    op.drop_table('webhook_endpoints')
