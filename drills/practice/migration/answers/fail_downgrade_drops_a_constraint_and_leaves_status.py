# expect: fail
# check: downgrade -1
# message: downgrade() left the column behind
"""documents: add a status column"""

import sqlalchemy as sa
from alembic import op

revision = "9b3e6a1c5d20"
down_revision = "4d1f0c2b9a7e"


def upgrade() -> None:
    op.add_column("documents", sa.Column("status", sa.String(20), nullable=False, server_default="draft"))


def downgrade() -> None:
    # The wrong thing undone: a constraint of users goes, and status stays.
    op.drop_constraint("users_email_key", "users", type_="unique")
