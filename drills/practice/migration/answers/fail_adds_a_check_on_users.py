# expect: fail
# check: nothing else changed
# message: users: check constraint
"""documents: add a status column"""

import sqlalchemy as sa
from alembic import op

revision = "9b3e6a1c5d20"
down_revision = "4d1f0c2b9a7e"


def upgrade() -> None:
    op.add_column("documents", sa.Column("status", sa.String(20), nullable=False, server_default="draft"))
    op.create_check_constraint("email_has_at", "users", "email LIKE '%@%'")


def downgrade() -> None:
    op.drop_constraint("email_has_at", "users", type_="check")
    op.drop_column("documents", "status")
