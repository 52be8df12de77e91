"""subjects: restricted_at (a restriction is the person's, until its lift)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 18:00:00
"""
from alembic import op
import sqlalchemy as sa

from consent_center.db import UTCDateTime


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('subjects', sa.Column("restricted_at", UTCDateTime(timezone=True), nullable=True))
    # A subject with a channel restricted today is restricted since that event.
    op.execute(
        "UPDATE subjects SET restricted_at = ("
        " SELECT MAX(e.occurred_at) FROM consent_events e"
        " WHERE e.subject_id = subjects.id AND e.status = 'restricted')"
        " WHERE id IN (SELECT subject_id FROM consent_states WHERE status = 'restricted')"
    )


def downgrade() -> None:
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.drop_column('restricted_at')
