"""the transparency log's tables append-only (leaves, stored subtrees and checkpoints never change,
the log state never shrinks; on SQLite, INSERT OR REPLACE refused on them and on the events);
verification runs record the checkpoints kept elsewhere they checked

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-07 20:00:00
"""
from alembic import op
import sqlalchemy as sa

from consent_center.ledger import append_only, log_append_only


revision = '0023'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    log_append_only.install(op.get_bind())
    if op.get_bind().dialect.name == "sqlite":
        # The events' triggers as append_only.py now has them: INSERT OR REPLACE refused too.
        append_only.remove(op.get_bind())
        append_only.install(op.get_bind())
    # Not in batch mode: SQLite adds a column with a default in place.
    op.add_column('ledger_verifications', sa.Column('checkpoints_held', sa.Integer(), server_default='0',
                                                    nullable=False))
    op.add_column('ledger_verifications', sa.Column('checkpoints_inconsistent', sa.Integer(), server_default='0',
                                                    nullable=False))
    op.add_column('ledger_verifications', sa.Column('checkpoint_results', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ledger_verifications', schema=None) as batch_op:
        batch_op.drop_column('checkpoint_results')
        batch_op.drop_column('checkpoints_inconsistent')
        batch_op.drop_column('checkpoints_held')
    log_append_only.remove(op.get_bind())
