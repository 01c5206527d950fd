"""window_template_spend: spend per window x feature x model x prompt template

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from llmwatch.warehouse.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "window_template_spend",
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("feature_id", sa.String(length=256), nullable=False),
        sa.Column("model_id", sa.String(length=256), nullable=False),
        sa.Column("prompt_template_id", sa.String(length=256), nullable=False),
        sa.Column("request_count", sa.Integer(), nullable=False),
        sa.Column("cost_total_usd", sa.Float(), nullable=True),
        sa.Column("unpriced_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "window_start",
            "feature_id",
            "model_id",
            "prompt_template_id",
            name=op.f("pk_window_template_spend"),
        ),
    )


def downgrade() -> None:
    op.drop_table("window_template_spend")
