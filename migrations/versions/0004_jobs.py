"""jobs: work outside requests, and shared settings

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 14:07:04

The job table (long imports now; timers, schedules and automations next), claimed
with row locks or a lease so that two workers never run one job; and a small table of
settings every worker shares (the test clock).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('tenon_jobs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('run_at', sa.DateTime(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('input', sa.LargeBinary(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=True),
    sa.Column('progress_step', sa.String(length=60), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by', sa.String(length=150), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenon_jobs'))
    )
    with op.batch_alter_table('tenon_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tenon_jobs__created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tenon_jobs__status_run_at'), ['status', 'run_at'], unique=False)
        batch_op.create_index('uq_tenon_jobs__queued_key', ['key'], unique=True, sqlite_where=sa.text("status = 'queued'"), postgresql_where=sa.text("status = 'queued'"))

    op.create_table('tenon_settings',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_tenon_settings'))
    )


def downgrade() -> None:
    op.drop_table('tenon_settings')
    with op.batch_alter_table('tenon_jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_tenon_jobs__queued_key', sqlite_where=sa.text("status = 'queued'"), postgresql_where=sa.text("status = 'queued'"))
        batch_op.drop_index(batch_op.f('ix_tenon_jobs__status_run_at'))
        batch_op.drop_index(batch_op.f('ix_tenon_jobs__created_by_id'))

    op.drop_table('tenon_jobs')
