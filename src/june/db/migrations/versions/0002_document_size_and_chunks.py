"""Documents: size in bytes, chunk count, one copy of the same content per user.

``size_bytes`` and ``chunk_count`` are what ``june docs list`` and the
``Document`` message show, kept on the row so listing never counts chunks or
asks the object store. The unique index on ``(user_id, sha256)`` makes
de-duplication safe when the same file is ingested twice at once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "documents",
        sa.Column("size_bytes", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.add_column(
        "documents",
        sa.Column("chunk_count", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_index("uq_documents_user_sha256", "documents", ["user_id", "sha256"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_documents_user_sha256", table_name="documents")
    op.drop_column("documents", "chunk_count")
    op.drop_column("documents", "size_bytes")
