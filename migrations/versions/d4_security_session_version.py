"""users.session_version: sign-out ends every session and remember-me cookie issued before it

Revision ID: d4_security
Revises: d3_alerts
Create Date: 2026-12-04 15:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd4_security'
down_revision = 'd3_alerts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
