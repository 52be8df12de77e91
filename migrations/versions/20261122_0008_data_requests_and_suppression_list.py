"""data requests and suppression list

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 03:23:02.277531
"""
from alembic import op
import sqlalchemy as sa
import consent_center.db


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('suppressed_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('created_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppressed_addresses')),
    sa.UniqueConstraint('digest', name=op.f('uq_suppressed_addresses_digest'))
    )
    op.create_table('data_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('received_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('extended_at', consent_center.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('extension_reason', sa.Text(), nullable=True),
    sa.Column('identity_verified_at', consent_center.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('identity_verified_by', sa.Integer(), nullable=True),
    sa.Column('completed_at', consent_center.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('details', sa.Text(), nullable=True),
    sa.Column('trusted_contact', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['identity_verified_by'], ['accounts.id'], name=op.f('fk_data_requests_identity_verified_by_accounts')),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_data_requests_subject_id_subjects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_requests')),
    sa.UniqueConstraint('public_id', name=op.f('uq_data_requests_public_id'))
    )
    with op.batch_alter_table('data_requests', schema=None) as batch_op:
        batch_op.create_index('ix_data_requests_status_due_at', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_requests_subject_id'), ['subject_id'], unique=False)

    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', consent_center.db.UTCDateTime(timezone=True), nullable=True))

    # ### end Alembic commands ###


def downgrade() -> None:
    with op.batch_alter_table('subjects', schema=None) as batch_op:
        batch_op.drop_column('erased_at')

    with op.batch_alter_table('data_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_requests_subject_id'))
        batch_op.drop_index('ix_data_requests_status_due_at')

    op.drop_table('data_requests')
    op.drop_table('suppressed_addresses')
    # ### end Alembic commands ###
