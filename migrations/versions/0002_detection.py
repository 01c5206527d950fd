"""detection: sample-size standardised quality charts, re-baselines, SLO burn status

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from llmwatch.warehouse.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Charts of the old kind (one sigma for every n) cannot be continued: their baseline
    # values are bare means without n. They start a new baseline from their last window.
    with op.batch_alter_table("chart_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tau2", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("mu0_var", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("e_weight", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("pending", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE chart_state SET phase = 'warmup', baseline_values = NULL, mu0 = NULL, "
        "sigma0 = NULL, z = NULL, t = 0"
    )
    op.create_table(
        "chart_rebaselines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("chart_id", sa.String(length=256), nullable=False),
        sa.Column("feature_id", sa.String(length=256), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.Column("previous_mu0", sa.Float(), nullable=True),
        sa.Column("previous_phase", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chart_rebaselines")),
    )
    op.create_table(
        "slo_status",
        sa.Column("feature_id", sa.String(length=256), nullable=False),
        sa.Column("slo", sa.String(length=16), nullable=False),
        sa.Column("evaluated_at", UTCDateTime(), nullable=False),
        sa.Column("objective", sa.Float(), nullable=False),
        sa.Column("threshold_ms", sa.Float(), nullable=True),
        sa.Column("budget_days", sa.Float(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("bad_events", sa.BigInteger(), nullable=False),
        sa.Column("remaining_budget", sa.Float(), nullable=True),
        sa.Column("burn_rates", sa.JSON(), nullable=False),
        sa.Column("paging", sa.Boolean(), nullable=False),
        sa.Column("ticketing", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("feature_id", "slo", name=op.f("pk_slo_status")),
    )


def downgrade() -> None:
    op.drop_table("slo_status")
    op.drop_table("chart_rebaselines")
    with op.batch_alter_table("chart_state", schema=None) as batch_op:
        batch_op.drop_column("pending")
        batch_op.drop_column("e_weight")
        batch_op.drop_column("mu0_var")
        batch_op.drop_column("tau2")
