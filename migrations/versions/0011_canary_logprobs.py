"""canary_samples.logprobs: the token log-probabilities of a logprob canary call (issue 17)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: distributional (text) samples have none. batch_alter_table for SQLite.
    with op.batch_alter_table("canary_samples") as batch:
        batch.add_column(sa.Column("logprobs", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("canary_samples") as batch:
        batch.drop_column("logprobs")
