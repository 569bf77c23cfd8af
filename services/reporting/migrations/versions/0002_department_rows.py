"""department rows in kpi_month (owner '*<department>'): data only, no schema change

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 20:10:00.000000

get_kpis reads a department scope from its own kpi_month rows; this derives
them from the per-owner rows and the staff directory, as ``rebuild()`` does.
"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Sum each department's members' rows into the department's rows."""
    op.execute("DELETE FROM kpi_month WHERE owner LIKE '*_%'")
    op.execute(
        "INSERT INTO kpi_month (owner, month, metric, value) "
        "SELECT '*' || s.department, k.month, k.metric, SUM(k.value) "
        "FROM kpi_month k JOIN rpt_staff s ON s.employee_id = k.owner "
        "WHERE s.department IS NOT NULL AND k.owner NOT LIKE '*%' "
        "GROUP BY s.department, k.month, k.metric HAVING SUM(k.value) <> 0")


def downgrade() -> None:
    """Drop the department rows (the per-owner rows stay)."""
    op.execute("DELETE FROM kpi_month WHERE owner LIKE '*_%'")
