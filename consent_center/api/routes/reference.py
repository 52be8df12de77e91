"""The API reference page: the OpenAPI document shown by Swagger UI, from this origin.

``GET /api/v1/docs`` is a page, not an operation: it is not in the document
it shows. Like ``openapi.json`` it needs no key. Swagger UI is a vendored copy
of npm's swagger-ui-dist in ``static/vendor/swagger-ui/`` (``make vendor``,
scripts/vendor_swagger_ui.py), started by ``static/api-reference.js`` with no
inline script, so the site's Content-Security-Policy holds unchanged. Its two
files are served here under their version, cached for a year: a new version
is a new URL. Without JavaScript the page lists the operations itself.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import abort, current_app, render_template, send_from_directory, url_for

from consent_center.api import PREFIX, bp
from consent_center.api.routes.meta import current_document

# What the page loads; the rest of the copy (licences, package.json) is there for people.
SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")
CACHE_SECONDS = 365 * 24 * 3600
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def swagger_ui_folder() -> Path:
    return Path(current_app.static_folder) / "vendor" / "swagger-ui"


@cache
def _version_of(folder: Path) -> str:
    return json.loads((folder / "package.json").read_text(encoding="utf-8"))["version"]


def swagger_ui_version() -> str:
    """The version of the vendored Swagger UI (its own package.json)."""
    return _version_of(swagger_ui_folder())


def operations_by_tag(document: dict) -> list[tuple[str, list[dict]]]:
    """Each tag with its operations (method, full path, summary), in the document's order."""
    groups: dict[str, list[dict]] = {}
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or [""])[0]
            groups.setdefault(tag, []).append({"method": method.upper(), "path": PREFIX + path,
                                               "summary": operation.get("summary", "")})
    return list(groups.items())


@bp.get("/docs")
def reference():
    document = current_document()
    version = swagger_ui_version()
    return render_template(
        "api/reference.html", api_version=document["info"]["version"], groups=operations_by_tag(document),
        swagger_ui={name: url_for("api.swagger_ui_file", version=version, name=name) for name in SWAGGER_UI_FILES})


@bp.get("/docs/swagger-ui/<version>/<name>")
def swagger_ui_file(version: str, name: str):
    if version != swagger_ui_version() or name not in SWAGGER_UI_FILES:
        abort(404)
    response = send_from_directory(swagger_ui_folder(), name, max_age=CACHE_SECONDS)
    response.cache_control.immutable = True
    return response
