"""alerts: delivered timestamps for the scan -> event -> delivered latency per channel

Revision ID: d3_alerts
Revises: d7_market
Create Date: 2026-12-04 15:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd3_alerts'
down_revision = 'd7_market'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('latency_ms', sa.Double(), nullable=True))


def downgrade():
    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.drop_column('latency_ms')
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.drop_column('delivered_at')
