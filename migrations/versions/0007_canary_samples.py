"""canary samples and pinned reference runs: the distributional canary (SPEC 4.5)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from llmwatch.warehouse.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canary_samples",
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("probe_id", sa.String(length=256), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("served_model", sa.String(length=256), nullable=True),
        sa.Column("system_fingerprint", sa.String(length=256), nullable=True),
        sa.Column("finish_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["canary_runs.run_id"], name=op.f("fk_canary_samples_run_id_canary_runs")
        ),
        sa.PrimaryKeyConstraint("run_id", "probe_id", "seq", name=op.f("pk_canary_samples")),
    )
    op.create_table(
        "canary_pins",
        sa.Column("target", sa.String(length=256), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("probe_set_version", sa.String(length=64), nullable=False),
        sa.Column("pinned_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["canary_runs.run_id"], name=op.f("fk_canary_pins_run_id_canary_runs")
        ),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_canary_pins")),
    )


def downgrade() -> None:
    op.drop_table("canary_pins")
    op.drop_table("canary_samples")
