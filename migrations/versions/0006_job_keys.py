"""job keys: an index on the key of every job, not only queued ones

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 16:00:00

A timer asks whether its job for a given time has already run (so a passed one-time
timer fires once); that looks jobs up by key whatever their status.
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('tenon_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tenon_jobs__key'), ['key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tenon_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tenon_jobs__key'))
