"""chart_state.cusum: the lower-side CUSUM that runs beside each quality chart's EWMA

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Charts monitoring before this revision start their CUSUM at 0 (no evidence yet).
    with op.batch_alter_table("chart_state") as batch:
        batch.add_column(sa.Column("cusum", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chart_state") as batch:
        batch.drop_column("cusum")
