# expect: pass
"""documents: add a status column"""

import sqlalchemy as sa
from alembic import op

revision: str = "9b3e6a1c5d20"
down_revision: str | None = "4d1f0c2b9a7e"


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("status", sa.VARCHAR(20), server_default="draft", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("status")
