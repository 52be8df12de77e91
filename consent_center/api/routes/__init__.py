"""The API's views, one module per resource; importing a module registers its endpoints."""
from consent_center.api.routes import audit, check, consents, events, links, log, meta, subjects  # noqa: F401
