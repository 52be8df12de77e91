"""The OpenAPI 3 document, generated from the endpoint declarations and schemas."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from consent_center.accounts.api_clients import SCOPES
from consent_center.api import schemas
from consent_center.api.endpoints import ENDPOINTS, JSON_MEDIA_TYPE, Endpoint
from consent_center.web.problems import PROBLEM_MEDIA_TYPE, TYPES

API_VERSION = "1.0.0"
PREFIX = "/api/v1"
ERROR_DESCRIPTIONS = {
    400: "Malformed request (body not JSON, or a moment in the future)",
    401: "No API key, or not a valid one",
    403: "The API key lacks the scope this endpoint needs",
    404: "Not found: no such subject, receipt or logged event (the problem's detail says which)",
    409: ("Conflict, named by the problem's type: `conflict` (another subject has this e-mail address or "
          "external reference, or it is on the suppression list) or `erased` (the subject was erased at its "
          "owner's request and takes no change)"),
    413: "Body larger than CONSENT_API_MAX_BODY, or more contacts than CONSENT_API_BULK_LIMIT",
    415: "The body must be application/json",
    422: "Not valid: the problem's `errors` name each field (pointer) or parameter at fault",
    429: "Too many failed authentications, or the key's rate limit",
}
DESCRIPTION = f"""Ask Consent Center before every send, and keep suppression lists in step.

Authenticate with `Authorization: Bearer <key>` (`flask --app wsgi apikey create`). Scopes:
{", ".join(f"`{s}`" for s in SCOPES)}. Every error is an RFC 9457 problem
(`application/problem+json`); problem types: {", ".join(f"`urn:consent-center:problem:{t}`" for t in TYPES)}.

Status values: `granted` (the only one that is `allowed`), `withdrawn`, `refused`, `expired`,
`never_asked`, `restricted`, and `unknown` for a contact the center does not know;
`suppressed` for an e-mail address or phone number the center no longer knows because it was
erased at its owner's request (never `allowed`). By phone (`phone=`, `"phones"`: channels whose
medium is `sms` or `phone`), a number several subjects have is allowed only if all of them allow it. An erased subject takes no change: a write answers 409
`urn:consent-center:problem:erased`; an e-mail address or phone number on the suppression
list is refused on `POST` and `PATCH /subjects` (409 `conflict`).
"""


# What marshmallow cannot say about a body: exactly one of two lists.
EXACTLY_ONE = {
    "BulkCheck": ["emails", "subjects", "phones"],
}


def build_spec(app: Flask, channels: list[str]) -> dict:
    """Return the OpenAPI document of every declared endpoint.

    ``channels`` (the codes in the database) become the enum of every
    ``channel`` field and parameter, so the document says what the server
    accepts today; the document is rebuilt when the channels change.
    """
    spec = APISpec(title="Consent Center API", version=API_VERSION, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()], info={"description": DESCRIPTION},
                   servers=[{"url": app.config["BASE_URL"] + PREFIX}])
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                   "description": "An API key from `apikey create`."})
    spec.components.schema("Problem", schema=schemas.ProblemSchema)
    for status, description in ERROR_DESCRIPTIONS.items():
        spec.components.response(f"Problem{status}", {
            "description": description,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": "Problem"}},
        })
    paths: dict[str, dict] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.openapi_path, {})[endpoint.method.lower()] = _operation(endpoint)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    _restrict_channels(document, channels)
    for name, keys in EXACTLY_ONE.items():
        document["components"]["schemas"][name]["oneOf"] = [{"required": [key]} for key in keys]
    return document


def _restrict_channels(document: dict, channels: list[str]) -> None:
    for schema in document["components"]["schemas"].values():
        channel = schema.get("properties", {}).get("channel")
        if channel is not None:
            channel["enum"] = channels
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("name") == "channel":
                    parameter["schema"]["enum"] = channels


def _operation(endpoint: Endpoint) -> dict:
    operation: dict = {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "description": endpoint.description,
        "tags": [endpoint.tag],
        "parameters": [],
        "responses": {},
    }
    if endpoint.scope:
        operation["security"] = [{"bearerAuth": []}]
        operation["description"] += f"\n\nScope: `{endpoint.scope}`."
        operation["x-required-scope"] = endpoint.scope
    else:
        operation["security"] = []
    for name in endpoint.path_params:
        operation["parameters"].append({"in": "path", "name": name, "required": True,
                                        "schema": {"type": "string", "minLength": 1, "maxLength": 64}})
    if endpoint.query is not None:
        operation["parameters"].append({"in": "query", "schema": endpoint.query})
    if endpoint.body is not None:
        operation["requestBody"] = {"required": True, "content": {JSON_MEDIA_TYPE: {"schema": endpoint.body}}}
    for status, schema in endpoint.responses.items():
        response: dict = {"description": "OK" if status == 200 else "Created" if status == 201 else "Answer"}
        if endpoint.produces == (JSON_MEDIA_TYPE,):
            response["content"] = {JSON_MEDIA_TYPE: {"schema": schema if schema is not None else {"type": "object"}}}
        else:
            # A JSON-based stream (JSON-LD) parses as a document, not a string.
            response["content"] = {media: {"schema": {"type": "object"} if media.endswith("+json")
                                           else {"type": "string"}} for media in endpoint.produces}
        if status == 201 and endpoint.name == "create_subject":
            response["headers"] = {"Location": {"schema": {"type": "string"},
                                                "description": "the new subject's address"}}
        operation["responses"][str(status)] = response
    for status in endpoint.error_statuses():
        operation["responses"][str(status)] = {"$ref": f"#/components/responses/Problem{status}"}
    return operation
