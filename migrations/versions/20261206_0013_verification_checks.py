"""ledger_verifications: what the checks beyond the chains found (states, heads, policy texts, receipts)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 17:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

COUNTS = ('states_mismatched', 'chains_truncated', 'policy_texts_mismatched', 'receipts_mismatched')


def upgrade() -> None:
    # Not in batch mode: SQLite adds a column with a default in place.
    for name in COUNTS:
        op.add_column('ledger_verifications', sa.Column(name, sa.Integer(), server_default='0', nullable=False))
    op.add_column('ledger_verifications', sa.Column('findings', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ledger_verifications', schema=None) as batch_op:
        batch_op.drop_column('findings')
        for name in reversed(COUNTS):
            batch_op.drop_column(name)
