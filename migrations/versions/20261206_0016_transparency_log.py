"""the transparency log: leaves, perfect subtree hashes, its state and signed checkpoints

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'log_state',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('last_txid', sa.BigInteger(), nullable=False),
        sa.Column('last_event_id', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_log_state')),
    )
    op.bulk_insert(sa.table('log_state', sa.column('id'), sa.column('size'), sa.column('last_txid'),
                            sa.column('last_event_id')),
                   [{'id': 1, 'size': 0, 'last_txid': 0, 'last_event_id': 0}])
    op.create_table(
        'log_leaves',
        sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('event_id', EVENT_ID, nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['consent_events.id'],
                                name=op.f('fk_log_leaves_event_id_consent_events')),
        sa.PrimaryKeyConstraint('idx', name=op.f('pk_log_leaves')),
        sa.UniqueConstraint('event_id', name=op.f('uq_log_leaves_event_id')),
    )
    op.create_table(
        'log_nodes',
        sa.Column('level', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint('level', 'idx', name=op.f('pk_log_nodes')),
    )
    op.create_table(
        'log_checkpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tree_size', sa.BigInteger(), nullable=False),
        sa.Column('root_hash', sa.LargeBinary(length=32), nullable=False),
        sa.Column('key_hash', sa.String(length=8), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_log_checkpoints')),
        sa.UniqueConstraint('tree_size', name=op.f('uq_log_checkpoints_tree_size')),
    )
    op.create_index(op.f('ix_log_checkpoints_created_at'), 'log_checkpoints', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_log_checkpoints_created_at'), table_name='log_checkpoints')
    op.drop_table('log_checkpoints')
    op.drop_table('log_nodes')
    op.drop_table('log_leaves')
    op.drop_table('log_state')
