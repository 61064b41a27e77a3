"""case types from the registry

cases.case_type no longer carries a CHECK list of the built-in types: the registry of case types
(rights_portal/cases/registry.py) validates the name when it is written, so a type registered by
a module needs no migration. The rule that exam cases name an exam now lists the types that are
about an exam instead of those that are not, so a new type is not forced to name one.

Revision ID: e3b9c4d2a7f1
Revises: e7a1c5d93f42
Create Date: 2026-12-03 09:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "e3b9c4d2a7f1"
down_revision = "e7a1c5d93f42"
branch_labels = None
depends_on = None

BUILT_IN = "('access', 'objection', 'alternative_exam', 'human_review', 'erasure')"


def upgrade():
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_cases_case_type"), type_="check")
        batch_op.drop_constraint(op.f("ck_cases_exam_cases_name_an_exam"), type_="check")
        batch_op.create_check_constraint(
            "exam_cases_name_an_exam",
            "case_type NOT IN ('objection', 'alternative_exam', 'human_review')"
            " OR exam_id IS NOT NULL",
        )


def downgrade():
    # Cases of a type that is not built in cannot be kept under the old CHECK: refuse, rather
    # than delete cases (and their history) silently.
    leftover = op.get_bind().execute(
        sa.text(f"SELECT count(*) FROM cases WHERE case_type NOT IN {BUILT_IN}")
    ).scalar()
    if leftover:
        raise RuntimeError(f"{leftover} case(s) of types that are not built in; remove them first")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_cases_exam_cases_name_an_exam"), type_="check")
        batch_op.create_check_constraint(
            "exam_cases_name_an_exam", "case_type IN ('access', 'erasure') OR exam_id IS NOT NULL"
        )
        batch_op.create_check_constraint("case_type", f"case_type IN {BUILT_IN}")
