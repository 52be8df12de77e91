"""unsubscribe_reasons: the optional answer to "why?" after an unsubscribe, beside the ledger

Revision ID: 0027
Revises: 0024
Create Date: 2026-12-07 10:00:00

The ledger is append-only and hashed: a reason given after the withdrawal
cannot go into its event. It has its own table, one row per withdrawal's
receipt, linked to the subject so that erasure forgets its free text.
"""
from alembic import op
import sqlalchemy as sa
import consent_center.db


revision = '0027'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('unsubscribe_reasons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('given_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'],
                            name=op.f('fk_unsubscribe_reasons_receipt_id_receipts')),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'],
                            name=op.f('fk_unsubscribe_reasons_subject_id_subjects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unsubscribe_reasons')),
    sa.UniqueConstraint('receipt_id', name=op.f('uq_unsubscribe_reasons_receipt_id'))
    )
    op.create_index('ix_unsubscribe_reasons_subject_id', 'unsubscribe_reasons', ['subject_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_unsubscribe_reasons_subject_id', table_name='unsubscribe_reasons')
    op.drop_table('unsubscribe_reasons')
