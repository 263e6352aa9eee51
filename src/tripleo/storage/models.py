"""Every model module, imported so Alembic and create-all see all tables."""

import tripleo.storage.baremetal_models
import tripleo.storage.network_models  # noqa: F401
from tripleo.storage import (
    locks,  # noqa: F401
    stack_models,  # noqa: F401
)

__all__: list[str] = []
