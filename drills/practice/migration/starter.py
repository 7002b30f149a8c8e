"""documents: add a status column

Revision ID: 9b3e6a1c5d20
"""

import sqlalchemy as sa
from alembic import op

# --- your answer below ---------------------------------------------------------------

# revision identifiers, used by Alembic.
revision = "9b3e6a1c5d20"
down_revision = None  # which revision does this one build on? The task names it.


def upgrade() -> None:
    # `drill hint` first.
    pass


def downgrade() -> None:
    pass
