# expect: fail
# check: alembic upgrade head
# message: made an alembic_version
"""documents: add a status column

Revision ID: 9b3e6a1c5d20
"""

import sqlalchemy as sa
from alembic import op

# --- your answer below ---------------------------------------------------------------

# revision identifiers, used by Alembic.
revision = "9b3e6a1c5d20"
down_revision = "4d1f0c2b9a7e"


def upgrade() -> None:
    # The DEFAULT lives in the table: Postgres fills the existing rows with it when the
    # column is added, and every later INSERT that leaves status out.
    op.add_column(
        "documents",
        sa.Column("status", sa.String(20), nullable=False, server_default="draft"),
    )


def downgrade() -> None:
    op.drop_column("documents", "status")


# Stamping the database by hand, with a revision Alembic has never heard of.
from sqlalchemy import text as _text

from drillkit.sandbox import session as _s

_s.execute(_text("CREATE TABLE IF NOT EXISTS alembic_version (version_num varchar(32) PRIMARY KEY)"))
_s.execute(_text("INSERT INTO alembic_version VALUES ('deadbeef0000') ON CONFLICT DO NOTHING"))
_s.commit()
