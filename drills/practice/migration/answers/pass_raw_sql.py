# expect: pass
"""documents: add a status column"""

import sqlalchemy as sa
from alembic import op

revision = "9b3e6a1c5d20"
down_revision = "4d1f0c2b9a7e"


def upgrade() -> None:
    op.execute("ALTER TABLE documents ADD COLUMN status varchar(20) NOT NULL DEFAULT 'draft'")


def downgrade() -> None:
    op.execute("ALTER TABLE documents DROP COLUMN status")
