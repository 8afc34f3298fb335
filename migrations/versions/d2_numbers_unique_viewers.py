"""unique viewers: count each user once per strategy (data only)

Viewers used to be counted once per user and day. Recount ``strategies.viewers_count`` as
the number of distinct users with a view row, and keep only each user's first view row (the
rule the application now follows). No schema change.

Revision ID: d2_numbers
Revises: c8_strategies
Create Date: 2026-12-04 16:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd2_numbers'
down_revision = 'c8_strategies'
branch_labels = None
depends_on = None


def upgrade():
    # keep each (strategy, user)'s earliest view day; later days were viewer-days
    op.execute(
        "DELETE FROM strategy_views WHERE day > ("
        "SELECT MIN(v.day) FROM strategy_views v "
        "WHERE v.strategy_id = strategy_views.strategy_id AND v.user_id = strategy_views.user_id)"
    )
    op.execute(
        "UPDATE strategies SET viewers_count = ("
        "SELECT COUNT(*) FROM strategy_views v WHERE v.strategy_id = strategies.id)"
    )


def downgrade():
    # the dropped viewer-day rows cannot be restored; the recounted numbers stay valid
    pass
