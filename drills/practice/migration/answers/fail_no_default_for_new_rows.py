# expect: fail
# check: varchar(20)
# message: inserted without a status is refused
"""documents: add a status column"""

import sqlalchemy as sa
from alembic import op

revision = "9b3e6a1c5d20"
down_revision = "4d1f0c2b9a7e"


def upgrade() -> None:
    # Fills the old rows, but leaves no DEFAULT behind for new ones.
    op.add_column("documents", sa.Column("status", sa.String(20), nullable=True))
    op.execute("UPDATE documents SET status = 'draft'")
    op.alter_column("documents", "status", nullable=False)


def downgrade() -> None:
    op.drop_column("documents", "status")
