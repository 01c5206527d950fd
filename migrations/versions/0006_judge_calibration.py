"""judge_calibration_runs: the judge's agreement with a set of known verdicts, per run

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from llmwatch.warehouse.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "judge_calibration_runs",
        sa.Column("id", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("run_at", UTCDateTime(), nullable=False),
        sa.Column("judge_model", sa.String(length=256), nullable=False),
        sa.Column("rubric_version", sa.String(length=32), nullable=False),
        sa.Column("set_version", sa.String(length=64), nullable=False),
        sa.Column("n_items", sa.Integer(), nullable=False),
        sa.Column("n_judged", sa.Integer(), nullable=False),
        sa.Column("n_agreed", sa.Integer(), nullable=False),
        sa.Column("n_failures", sa.Integer(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("kappa", sa.Float(), nullable=True),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("baseline_run_id", sa.BigInteger(), nullable=True),
        sa.Column("p_value", sa.Float(), nullable=True),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_judge_calibration_runs")),
    )
    op.create_index(
        "ix_judge_calibration_runs_series",
        "judge_calibration_runs",
        ["judge_model", "rubric_version", "run_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_judge_calibration_runs_series", table_name="judge_calibration_runs")
    op.drop_table("judge_calibration_runs")
