"""reliability: quarantined files, conflicting duplicates per file

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from llmwatch.warehouse.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantined_files",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("quarantined_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_quarantined_files")),
    )
    with op.batch_alter_table("ingested_files") as batch:
        batch.add_column(sa.Column("conflicts", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("ingested_files") as batch:
        batch.drop_column("conflicts")
    op.drop_table("quarantined_files")
