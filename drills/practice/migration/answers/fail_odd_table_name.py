# expect: fail
# check: nothing else changed
# message: new table
"""documents: add a status column"""

import sqlalchemy as sa
from alembic import op

revision = "9b3e6a1c5d20"
down_revision = "4d1f0c2b9a7e"

ODD = 'status log: "100%"'  # a quote, a colon and a percent sign, all legal in a quoted name


def upgrade() -> None:
    op.add_column("documents", sa.Column("status", sa.String(20), nullable=False, server_default="draft"))
    op.create_table(ODD, sa.Column("id", sa.Integer, primary_key=True))


def downgrade() -> None:
    op.drop_table(ODD)
    op.drop_column("documents", "status")
