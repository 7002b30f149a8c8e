# expect: fail
# check: builds on
# message: two heads
"""documents: add a status column"""

import sqlalchemy as sa
from alembic import op

revision = "9b3e6a1c5d20"
down_revision = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("status", sa.String(20), nullable=False, server_default="draft"))


def downgrade() -> None:
    op.drop_column("documents", "status")
