"""the last contact coming from the person, re-permission questions, when an objection's fingerprint was taken

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 03:00:00
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subjects') as batch:
        batch.add_column(sa.Column('last_contact_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('last_contact_kind', sa.String(length=16), nullable=True))
    # A request filed before this revision was a contact from the person too.
    op.execute("""UPDATE subjects SET last_contact_at = (
                      SELECT max(received_at) FROM data_requests WHERE data_requests.subject_id = subjects.id
                      AND data_requests.kind != 'post_mortem'),
                  last_contact_kind = 'request'
                  WHERE erased_at IS NULL AND EXISTS (
                      SELECT 1 FROM data_requests WHERE data_requests.subject_id = subjects.id
                      AND data_requests.kind != 'post_mortem')""")
    with op.batch_alter_table('suppression_entries') as batch:
        batch.add_column(sa.Column('added_at', sa.DateTime(timezone=True), nullable=True))
    # Their real age is unknown: counted from today, they are kept at least their full period.
    op.get_bind().execute(sa.text("UPDATE suppression_entries SET added_at = :now"),
                          {"now": datetime.now(timezone.utc)})
    op.create_table(
        'repermission_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('subject_id', sa.Integer(), nullable=False),
        sa.Column('rule', sa.String(length=16), nullable=False),
        sa.Column('clock_from', sa.DateTime(timezone=True), nullable=False),
        sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'],
                                name=op.f('fk_repermission_requests_subject_id_subjects')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_repermission_requests')),
        sa.UniqueConstraint('public_id', name=op.f('uq_repermission_requests_public_id')),
        sa.UniqueConstraint('subject_id', 'clock_from', name=op.f('uq_repermission_requests_subject_id_clock_from')),
    )
    op.create_index(op.f('ix_repermission_requests_subject_id'), 'repermission_requests', ['subject_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_repermission_requests_subject_id'), table_name='repermission_requests')
    op.drop_table('repermission_requests')
    with op.batch_alter_table('suppression_entries') as batch:
        batch.drop_column('added_at')
    with op.batch_alter_table('subjects') as batch:
        batch.drop_column('last_contact_kind')
        batch.drop_column('last_contact_at')
