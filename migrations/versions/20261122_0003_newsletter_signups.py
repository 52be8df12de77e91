"""newsletter sign-ups waiting for their double opt-in confirmation

Revision ID: 0003
Revises: 0004
Create Date: 2026-11-22 02:10:08.844471
"""
from alembic import op
import sqlalchemy as sa
import consent_center.db


revision = '0003'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('newsletter_signups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('policy_version_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('trace', sa.JSON(), nullable=True),
    sa.Column('confirmed_at', consent_center.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['policy_version_id'], ['policy_versions.id'], name=op.f('fk_newsletter_signups_policy_version_id_policy_versions')),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_newsletter_signups_subject_id_subjects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_newsletter_signups')),
    sa.UniqueConstraint('public_id', name=op.f('uq_newsletter_signups_public_id'))
    )
    with op.batch_alter_table('newsletter_signups', schema=None) as batch_op:
        batch_op.create_index('ix_newsletter_signups_email_requested_at', ['email', 'requested_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('newsletter_signups', schema=None) as batch_op:
        batch_op.drop_index('ix_newsletter_signups_email_requested_at')

    op.drop_table('newsletter_signups')
