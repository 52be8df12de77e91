"""The OpenAPI document: valid, complete, and true to what the server does."""
import base64

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from consent_center.web.problems import PROBLEM_MEDIA_TYPE

from .test_fuzz_pages import EDGES, VALUES as HOSTILE_VALUES

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
EXAMPLES = 12  # per operation and mode: enough to find what breaks, quick in CI
# Change feed cursors as the feed writes them (1.txid.id), with numbers beyond bigint.
OVERSIZED_CURSORS = [base64.urlsafe_b64encode(f"1.{txid}.{event_id}".encode()).decode().rstrip("=")
                     for txid, event_id in [(2**63, 1), (1, 2**63), (10**30, 10**30), (2**64, 0)]]


def test_openapi_document_is_valid_openapi_3(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "An API key from `apikey create`."}


# The reference page and Swagger UI's files: for people reading the document, not operations of it
# (tests/test_api_reference.py).
NOT_OPERATIONS = {"api.reference", "api.swagger_ui_file"}


def test_every_api_route_is_documented_with_its_errors(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint not in NOT_OPERATIONS:
            path = rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}")
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if op["security"]:
                assert {"401", "403"} <= set(op["responses"]), (method, path)
            if "requestBody" in op:
                assert {"400", "413", "415", "422"} <= set(op["responses"]), (method, path)
    problem = spec["components"]["responses"]["Problem422"]["content"]
    assert list(problem) == [PROBLEM_MEDIA_TYPE]


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_schema(app, make_key, make_subject):
    key = make_key()
    known = make_subject("lea@example.com", is_customer=True).public_id
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10, operations  # every endpoint (the spec itself may be left out)
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            def run(case):
                if mode == GenerationMode.POSITIVE and "subject_id" in (case.path_parameters or {}):
                    case.path_parameters["subject_id"] = known  # else every case is a 404
                case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

            run()


def test_every_api_query_parameter_out_of_range_is_a_4xx_problem_never_a_500(app, make_key, make_subject):
    """Each operation's every query parameter, set to what breaks parsers (tests/test_fuzz_pages.py's
    values: beyond 64 bits, the ends of the calendar, control characters, long text), and a cursor
    of the change feed that holds numbers beyond bigint: a documented 4xx, never a server error."""
    key = make_key()
    known = make_subject("lea@example.com", is_customer=True).public_id
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    fuzzed = set()
    for operation in [result.ok() for result in schema.get_all_operations()]:
        op = spec["paths"][operation.path][operation.method.lower()]
        names = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
        if not names:
            continue
        fuzzed |= {(operation.path, name) for name in names}
        values = st.one_of(HOSTILE_VALUES, st.sampled_from(OVERSIZED_CURSORS)) if "after" in names else HOSTILE_VALUES

        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
               hostile=st.dictionaries(st.sampled_from(names), values, min_size=1))
        @settings(max_examples=EXAMPLES * 2, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def run(case, hostile):
            if "subject_id" in (case.path_parameters or {}):
                case.path_parameters["subject_id"] = known
            case.query = {**(case.query or {}), **hostile}
            case.call_and_validate(headers={"Authorization": f"Bearer {key}"},
                                   checks=[not_a_server_error, status_code_conformance, content_type_conformance])

        run()
        # And each edge value in each parameter, one at a time, with an otherwise valid query.
        client = app.test_client()
        for name in names:
            for value in EDGES + OVERSIZED_CURSORS:
                path = operation.path.replace("{subject_id}", known)
                base = {"channel": "email", "email": "lea@example.com"} if "email" in names else {}
                response = client.get("/api/v1" + path, query_string={**base, name: value}, buffered=True,
                                      headers={"Authorization": f"Bearer {key}"})
                assert response.status_code < 500, (path, name, value[:80], response.status_code)
                if response.status_code >= 400:
                    assert response.mimetype == PROBLEM_MEDIA_TYPE, (path, name, value[:80])
    assert {("/events", "after"), ("/events", "since"), ("/export/events", "until"), ("/check", "at")} <= fuzzed
