# expect: pass
"""documents: add a status column

Revision ID: 9b3e6a1c5d20
"""

import sqlalchemy as sa
from alembic import op

# --- your answer below ---------------------------------------------------------------

# revision identifiers, used by Alembic.
revision = "9b3e6a1c5d20"
down_revision = ("4d1f0c2b9a7e",)  # a tuple of one parent: what Alembic writes for a merge


def upgrade() -> None:
    # The DEFAULT lives in the table: Postgres fills the existing rows with it when the
    # column is added, and every later INSERT that leaves status out.
    op.add_column(
        "documents",
        sa.Column("status", sa.String(20), nullable=False, server_default="draft"),
    )


def downgrade() -> None:
    op.drop_column("documents", "status")
