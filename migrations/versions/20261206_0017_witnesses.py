"""witnesses: what each webhook endpoint receives (consent changes, log checkpoints); the log check's count

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 18:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not in batch mode: SQLite adds a column with a default in place.
    op.add_column('webhook_endpoints', sa.Column('receives_consent_changes', sa.Boolean(),
                                                 server_default=sa.true(), nullable=False))
    op.add_column('webhook_endpoints', sa.Column('receives_checkpoints', sa.Boolean(),
                                                 server_default=sa.false(), nullable=False))
    op.add_column('ledger_verifications', sa.Column('log_mismatched', sa.Integer(), server_default='0',
                                                    nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('ledger_verifications', schema=None) as batch_op:
        batch_op.drop_column('log_mismatched')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_column('receives_checkpoints')
        batch_op.drop_column('receives_consent_changes')
