"""market: asset types, fundamentals, delisting and test issues; strategy benchmark

Revision ID: d7_market
Revises: d2_numbers
Create Date: 2026-12-04 15:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7_market'
down_revision = 'd2_numbers'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asset_type', sa.String(length=10), server_default='stock', nullable=False))
        batch_op.add_column(sa.Column('shares_outstanding', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('dividend_yield', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('pe_ratio', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('fundamentals_as_of', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('delisted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('test_issue', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f('ix_stocks_asset_type'), ['asset_type'], unique=False)
    with op.batch_alter_table('strategies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('benchmark', sa.String(length=10), server_default='SPY', nullable=False))


def downgrade():
    with op.batch_alter_table('strategies', schema=None) as batch_op:
        batch_op.drop_column('benchmark')
    with op.batch_alter_table('stocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stocks_asset_type'))
        batch_op.drop_column('test_issue')
        batch_op.drop_column('delisted_at')
        batch_op.drop_column('fundamentals_as_of')
        batch_op.drop_column('pe_ratio')
        batch_op.drop_column('dividend_yield')
        batch_op.drop_column('shares_outstanding')
        batch_op.drop_column('asset_type')
