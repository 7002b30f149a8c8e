# expect: fail
# check: upgrade head
# message: the default has to live in the table itself
"""documents: add a status column"""

import sqlalchemy as sa
from alembic import op

revision = "9b3e6a1c5d20"
down_revision = "4d1f0c2b9a7e"


def upgrade() -> None:
    op.add_column("documents", sa.Column("status", sa.String(20), nullable=False))


def downgrade() -> None:
    op.drop_column("documents", "status")
