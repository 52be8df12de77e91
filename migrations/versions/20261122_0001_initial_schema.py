"""initial schema: subjects, accounts, channels, policy versions, the ledger

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 01:52:54.526103
"""
from alembic import op
import sqlalchemy as sa
import consent_center.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('purposes', sa.JSON(), nullable=False),
    sa.Column('default_status', sa.String(length=16), nullable=False),
    sa.Column('default_basis', sa.String(length=32), nullable=False),
    sa.Column('commercial', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channels')),
    sa.UniqueConstraint('code', name=op.f('uq_channels_code'))
    )
    op.create_table('policy_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('effective_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('material', sa.Boolean(), nullable=False),
    sa.Column('published_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_versions')),
    sa.UniqueConstraint('label', name=op.f('uq_policy_versions_label'))
    )
    with op.batch_alter_table('policy_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_versions_effective_at'), ['effective_at'], unique=False)

    op.create_table('subjects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('postal_address', sa.Text(), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('external_ref', sa.String(length=100), nullable=True),
    sa.Column('is_customer', sa.Boolean(), nullable=False),
    sa.Column('created_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subjects')),
    sa.UniqueConstraint('email', name=op.f('uq_subjects_email')),
    sa.UniqueConstraint('external_ref', name=op.f('uq_subjects_external_ref')),
    sa.UniqueConstraint('public_id', name=op.f('uq_subjects_public_id'))
    )
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', consent_center.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('password_changed_at', consent_center.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_accounts_subject_id_subjects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('email', name=op.f('uq_accounts_email')),
    sa.UniqueConstraint('subject_id', name=op.f('uq_accounts_subject_id'))
    )
    op.create_table('policy_texts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_version_id', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['policy_version_id'], ['policy_versions.id'], name=op.f('fk_policy_texts_policy_version_id_policy_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_texts')),
    sa.UniqueConstraint('policy_version_id', 'locale', name=op.f('uq_policy_texts_policy_version_id_locale'))
    )
    op.create_table('receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('jws', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_receipts_subject_id_subjects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts')),
    sa.UniqueConstraint('public_id', name=op.f('uq_receipts_public_id'))
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipts_subject_id'), ['subject_id'], unique=False)

    op.create_table('consent_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('previous_status', sa.String(length=16), nullable=True),
    sa.Column('basis', sa.String(length=32), nullable=False),
    sa.Column('event_type', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('actor_type', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=True),
    sa.Column('policy_version_id', sa.Integer(), nullable=True),
    sa.Column('receipt_id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=True),
    sa.Column('trace', sa.JSON(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=True),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_consent_events_channel_id_channels')),
    sa.ForeignKeyConstraint(['policy_version_id'], ['policy_versions.id'], name=op.f('fk_consent_events_policy_version_id_policy_versions')),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], name=op.f('fk_consent_events_receipt_id_receipts')),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_consent_events_subject_id_subjects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_events')),
    sa.UniqueConstraint('public_id', name=op.f('uq_consent_events_public_id')),
    sa.UniqueConstraint('subject_id', 'seq', name=op.f('uq_consent_events_subject_id_seq'))
    )
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.create_index('ix_consent_events_channel_id_id', ['channel_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_events_receipt_id'), ['receipt_id'], unique=False)

    op.create_table('consent_states',
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('basis', sa.String(length=32), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('policy_version_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', consent_center.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channels.id'], name=op.f('fk_consent_states_channel_id_channels')),
    sa.ForeignKeyConstraint(['event_id'], ['consent_events.id'], name=op.f('fk_consent_states_event_id_consent_events')),
    sa.ForeignKeyConstraint(['policy_version_id'], ['policy_versions.id'], name=op.f('fk_consent_states_policy_version_id_policy_versions')),
    sa.ForeignKeyConstraint(['subject_id'], ['subjects.id'], name=op.f('fk_consent_states_subject_id_subjects')),
    sa.PrimaryKeyConstraint('subject_id', 'channel_id', name=op.f('pk_consent_states'))
    )


    channels = sa.table(
        "channels",
        sa.column("code", sa.String), sa.column("names", sa.JSON), sa.column("purposes", sa.JSON),
        sa.column("default_status", sa.String), sa.column("default_basis", sa.String),
        sa.column("commercial", sa.Boolean), sa.column("active", sa.Boolean),
        sa.column("position", sa.Integer),
    )
    op.bulk_insert(channels, SEEDED_CHANNELS)


# The four channels every privacy policy we serve names. E-mail and SMS
# start active for existing customers only (soft opt-in, ePrivacy art.
# 13(2)); post rests on legitimate interest; the newsletter needs consent.
SEEDED_CHANNELS = [
    {
        "code": "email", "position": 10, "commercial": True, "active": True,
        "default_status": "granted", "default_basis": "soft_opt_in",
        "names": {"fr": "E-mail commercial", "nl": "Commerciële e-mail", "en": "Commercial e-mail"},
        "purposes": {
            "fr": "Recevoir nos offres et nouveautés par e-mail.",
            "nl": "Onze aanbiedingen en nieuwigheden per e-mail ontvangen.",
            "en": "Receive our offers and news by e-mail.",
        },
    },
    {
        "code": "sms", "position": 20, "commercial": True, "active": True,
        "default_status": "granted", "default_basis": "soft_opt_in",
        "names": {"fr": "SMS", "nl": "Sms", "en": "Text messages (SMS)"},
        "purposes": {
            "fr": "Recevoir nos offres par SMS sur votre téléphone mobile.",
            "nl": "Onze aanbiedingen per sms op uw mobiele telefoon ontvangen.",
            "en": "Receive our offers by text message on your mobile phone.",
        },
    },
    {
        "code": "post", "position": 30, "commercial": True, "active": True,
        "default_status": "granted", "default_basis": "legitimate_interest",
        "names": {"fr": "Courrier postal", "nl": "Post", "en": "Post"},
        "purposes": {
            "fr": "Recevoir nos catalogues et offres par courrier.",
            "nl": "Onze catalogi en aanbiedingen per post ontvangen.",
            "en": "Receive our catalogues and offers by post.",
        },
    },
    {
        "code": "newsletter", "position": 40, "commercial": True, "active": True,
        "default_status": "never_asked", "default_basis": "consent",
        "names": {"fr": "Newsletter", "nl": "Nieuwsbrief", "en": "Newsletter"},
        "purposes": {
            "fr": "Recevoir notre lettre d'information : conseils, actualités, événements.",
            "nl": "Onze nieuwsbrief ontvangen: tips, nieuws, evenementen.",
            "en": "Receive our newsletter: tips, news and events.",
        },
    },
]


def downgrade() -> None:
    op.drop_table('consent_states')
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_events_receipt_id'))
        batch_op.drop_index(batch_op.f('ix_consent_events_occurred_at'))
        batch_op.drop_index('ix_consent_events_channel_id_id')

    op.drop_table('consent_events')
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipts_subject_id'))

    op.drop_table('receipts')
    op.drop_table('policy_texts')
    op.drop_table('accounts')
    op.drop_table('subjects')
    with op.batch_alter_table('policy_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_versions_effective_at'))

    op.drop_table('policy_versions')
    op.drop_table('channels')
