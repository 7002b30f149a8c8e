# expect: fail
# check: nothing else changed
# message: users.status added
"""documents: add a status column"""

import sqlalchemy as sa
from alembic import op

revision = "9b3e6a1c5d20"
down_revision = "4d1f0c2b9a7e"


def upgrade() -> None:
    for table in ("documents", "users"):
        op.add_column(table, sa.Column("status", sa.String(20), nullable=False, server_default="draft"))


def downgrade() -> None:
    for table in ("documents", "users"):
        op.drop_column(table, "status")
