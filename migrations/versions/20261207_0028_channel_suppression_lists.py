"""channel suppression lists (national registers, SMS STOPs, complaints) and undeliverable addresses

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'suppression_lists',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('medium', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('list_date', sa.Date(), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('customers_exempt', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('entry_count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_suppression_lists')),
        sa.UniqueConstraint('name', name=op.f('uq_suppression_lists_name')),
    )
    op.create_index(op.f('ix_suppression_lists_medium'), 'suppression_lists', ['medium'], unique=False)
    op.create_table(
        'suppression_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('list_id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['list_id'], ['suppression_lists.id'], ondelete='CASCADE',
                                name=op.f('fk_suppression_entries_list_id_suppression_lists')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_suppression_entries')),
        sa.UniqueConstraint('list_id', 'digest', name=op.f('uq_suppression_entries_list_id_digest')),
    )
    op.create_index(op.f('ix_suppression_entries_digest'), 'suppression_entries', ['digest'], unique=False)
    op.create_table(
        'undeliverable_addresses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=True),
        sa.Column('soft_bounces', sa.Integer(), nullable=False),
        sa.Column('last_bounce_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('marked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('detail', sa.String(length=200), nullable=True),
        sa.Column('provider', sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_undeliverable_addresses')),
        sa.UniqueConstraint('digest', name=op.f('uq_undeliverable_addresses_digest')),
    )


def downgrade() -> None:
    op.drop_table('undeliverable_addresses')
    op.drop_index(op.f('ix_suppression_entries_digest'), table_name='suppression_entries')
    op.drop_table('suppression_entries')
    op.drop_index(op.f('ix_suppression_lists_medium'), table_name='suppression_lists')
    op.drop_table('suppression_lists')
