"""staff_actions by the command line (via, no account); how a request's identity was checked

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('via', sa.String(length=8), server_default='web', nullable=False))
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('data_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identity_method', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('identity_evidence', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('identity_reference', sa.String(length=200), nullable=True))


def downgrade() -> None:
    # The staff log is evidence: a downgrade never deletes the command line's lines.
    held = op.get_bind().execute(sa.text("SELECT count(*) FROM staff_actions WHERE account_id IS NULL")).scalar()
    if held:
        raise RuntimeError(f"{held} staff log lines were written by the command line and have no account; "
                           "the earlier schema cannot hold them")
    with op.batch_alter_table('data_requests', schema=None) as batch_op:
        batch_op.drop_column('identity_reference')
        batch_op.drop_column('identity_evidence')
        batch_op.drop_column('identity_method')
    with op.batch_alter_table('staff_actions', schema=None) as batch_op:
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('via')
