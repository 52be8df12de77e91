"""The API's views, one module per resource; importing a module registers its endpoints."""
from . import audit, check, consents, events, links, meta, subjects  # noqa: F401
