# expect: fail
# check: nothing else changed
# message: documents: rows changed
"""documents: add a status column"""

import sqlalchemy as sa
from alembic import op

revision = "9b3e6a1c5d20"
down_revision = "4d1f0c2b9a7e"


def upgrade() -> None:
    op.add_column("documents", sa.Column("status", sa.String(20), nullable=False, server_default="draft"))
    op.execute("UPDATE documents SET title = '[draft] ' || title")  # other columns' values too


def downgrade() -> None:
    op.execute("UPDATE documents SET title = substr(title, 9)")
    op.drop_column("documents", "status")
