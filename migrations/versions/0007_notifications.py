"""notifications

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 16:05:00

In-app notifications: a message per user about a record, read or unread.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tenon_notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('app', sa.String(length=24), nullable=True),
    sa.Column('object', sa.String(length=30), nullable=True),
    sa.Column('record_id', sa.BigInteger(), nullable=True),
    sa.Column('cause', sa.String(length=200), nullable=True),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['tenon_users.id'], name=op.f('fk_tenon_notifications__user_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenon_notifications'))
    )
    with op.batch_alter_table('tenon_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tenon_notifications__user_id_read_at_id'), ['user_id', 'read_at', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tenon_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tenon_notifications__user_id_read_at_id'))

    op.drop_table('tenon_notifications')
