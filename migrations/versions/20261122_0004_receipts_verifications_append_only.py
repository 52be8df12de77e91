"""receipts' language, ledger verification runs, append-only consent events

Revision ID: 0004
Revises: 0005
Create Date: 2026-11-22 02:09:57.570489
"""
import json

from alembic import op
import sqlalchemy as sa
import consent_center.db
from consent_center.ledger import append_only


revision = '0004'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger_verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', consent_center.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('subjects', sa.Integer(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('first_break_event_id', sa.BigInteger(), nullable=True),
    sa.Column('first_break', sa.Text(), nullable=True),
    sa.Column('started_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_verifications'))
    )
    with op.batch_alter_table('ledger_verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_verifications_started_at'), ['started_at'], unique=False)

    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))
    _backfill_receipt_language()

    append_only.install(op.get_bind())


def _backfill_receipt_language() -> None:
    # Receipts issued so far name their language inside the document.
    bind = op.get_bind()
    receipts = sa.table('receipts', sa.column('id', sa.Integer), sa.column('document', sa.Text),
                        sa.column('language', sa.String))
    rows = bind.execute(sa.select(receipts.c.id, receipts.c.document)).all()
    for receipt_id, document in rows:
        language = json.loads(document).get('language')
        bind.execute(receipts.update().where(receipts.c.id == receipt_id).values(language=language))


def downgrade() -> None:
    append_only.remove(op.get_bind())

    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_column('language')

    with op.batch_alter_table('ledger_verifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_verifications_started_at'))

    op.drop_table('ledger_verifications')
