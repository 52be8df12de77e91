"""the transparency log's tables append-only: leaves, stored subtrees and checkpoints never change,
the log state never shrinks

Revision ID: 0023
Revises: 0017
Create Date: 2026-12-07 20:00:00
"""
from alembic import op

from consent_center.ledger import log_append_only


revision = '0023'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    log_append_only.install(op.get_bind())


def downgrade() -> None:
    log_append_only.remove(op.get_bind())
