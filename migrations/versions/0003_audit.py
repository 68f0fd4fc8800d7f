"""audit: the append-only trail of record changes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 11:10:00

One row per create, update, delete, import or transition of a record: actor, "on behalf
of", time, and the before/after value of each changed field (JSON text).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'tenon_audit',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('actor_name', sa.String(length=150), nullable=False),
        sa.Column('on_behalf_of', sa.String(length=300), nullable=True),
        sa.Column('app', sa.String(length=24), nullable=False),
        sa.Column('object', sa.String(length=30), nullable=False),
        sa.Column('record_id', sa.BigInteger(), nullable=False),
        sa.Column('operation', sa.String(length=40), nullable=False),
        sa.Column('changes', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tenon_audit')),
    )
    op.create_index('ix_tenon_audit__record', 'tenon_audit', ['app', 'object', 'record_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tenon_audit__record', table_name='tenon_audit')
    op.drop_table('tenon_audit')
