# expect: pass
"""documents: add a status column"""

import sqlalchemy as sa
from alembic import op

revision = "9b3e6a1c5d20"
down_revision = "4d1f0c2b9a7e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("status", sa.String(length=20), nullable=True))
    op.execute(sa.text("UPDATE documents SET status = 'draft' WHERE status IS NULL"))
    op.alter_column(
        "documents",
        "status",
        existing_type=sa.String(length=20),
        nullable=False,
        server_default=sa.text("'draft'"),
    )


def downgrade() -> None:
    op.drop_column("documents", "status")
