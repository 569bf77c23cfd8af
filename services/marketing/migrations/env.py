from alembic import context

from services.common.migrate import run_env
from services.marketing.models import Base

run_env(context, Base.metadata)
