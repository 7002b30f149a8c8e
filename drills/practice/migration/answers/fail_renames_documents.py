# expect: fail
# check: documents.status
# message: no documents table
"""documents: add a status column"""

import sqlalchemy as sa
from alembic import op

revision = "9b3e6a1c5d20"
down_revision = "4d1f0c2b9a7e"


def upgrade() -> None:
    # Renamed on the way: other code still queries `documents`.
    op.rename_table("documents", "document")
    op.add_column("document", sa.Column("status", sa.String(20), nullable=False, server_default="draft"))


def downgrade() -> None:
    op.drop_column("document", "status")
    op.rename_table("document", "documents")
