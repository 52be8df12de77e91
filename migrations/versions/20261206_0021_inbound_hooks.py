"""inbound hooks: SMS and e-mail providers' hooks, and every message they accepted (the evidence)

Revision ID: 0021
Revises: 0018
Create Date: 2026-12-06 20:00:00
"""
from alembic import op
import sqlalchemy as sa
import consent_center.db


revision = '0021'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_hooks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=True),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('created_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', consent_center.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_hooks')),
    sa.UniqueConstraint('public_id', name=op.f('uq_inbound_hooks_public_id'))
    )
    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('hook_id', sa.Integer(), nullable=False),
    sa.Column('provider_message_id', sa.String(length=200), nullable=False),
    sa.Column('received_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=True),
    sa.Column('payload', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('redacted_at', consent_center.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['hook_id'], ['inbound_hooks.id'],
                            name=op.f('fk_inbound_messages_hook_id_inbound_hooks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('hook_id', 'provider_message_id', name='uq_inbound_messages_hook_id_provider_message_id'),
    sa.UniqueConstraint('public_id', name=op.f('uq_inbound_messages_public_id'))
    )
    op.create_index('ix_inbound_messages_received_at', 'inbound_messages', ['received_at'], unique=False)
    op.create_index('ix_inbound_messages_sender', 'inbound_messages', ['sender'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_inbound_messages_sender', table_name='inbound_messages')
    op.drop_index('ix_inbound_messages_received_at', table_name='inbound_messages')
    op.drop_table('inbound_messages')
    op.drop_table('inbound_hooks')
