# expect: pass
"""documents: add a status column

Revision ID: 9b3e6a1c5d20
"""

import sqlalchemy as sa
from alembic import op

# --- your answer below ---------------------------------------------------------------

revision = "9b3e6a1c5d20"
down_revision = "4d1f0c2b9a7e"


def upgrade() -> None:
    op.add_column("documents", sa.Column("status", sa.String(20), nullable=False, server_default="draft"))
    # Part of the new column: which values it may hold.
    op.create_check_constraint("ck_documents_status", "documents", "status IN ('draft', 'published', 'archived')")


def downgrade() -> None:
    op.drop_constraint("ck_documents_status", "documents", type_="check")
    op.drop_column("documents", "status")
