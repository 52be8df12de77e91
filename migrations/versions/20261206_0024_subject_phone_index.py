"""subjects.phone: indexed, for the check by phone (one indexed query a number, one query a list)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 21:00:00

Every write path stores numbers in E.164 (addresses.normalise_phone), so the
index is looked up in that form; not unique: a number may be several people's.
"""
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_subjects_phone', 'subjects', ['phone'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_subjects_phone', table_name='subjects')
