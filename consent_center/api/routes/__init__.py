"""The API's views, one module per resource; importing a module registers its endpoints."""
from consent_center.api.routes import (  # noqa: F401
    audit,
    check,
    consents,
    events,
    links,
    log,
    meta,
    reference,
    subjects,
)
