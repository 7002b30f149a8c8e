# expect: pass
"""documents: add a status column

Revision ID: 9b3e6a1c5d20
"""

import sqlalchemy as sa
from alembic import op

# --- your answer below ---------------------------------------------------------------

# revision identifiers, used by Alembic.
revision = "9b3e6a1c5d20"
down_revision = "4d1f0c2b9a7e"


def upgrade() -> None:
    # An index on the new column is part of it: lists filtered by status stay fast.
    op.add_column(
        "documents",
        sa.Column("status", sa.String(20), nullable=False, server_default="draft", index=True),
    )


def downgrade() -> None:
    op.drop_column("documents", "status")  # its index goes with it
