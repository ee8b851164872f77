"""The intake's OpenAPI 3.1 document, built from the contract's JSON Schemas (schemas.jsonschema) and its answers.

Each topic's JSON Schema is embedded under components/schemas with its definitions hoisted beside it (one
component per event type's details, per shared record and per code format), so the document is self-contained
and every request body is described by the same source as the validator. A request body is one of the topic's
event types: `<topic>.<EVENT_TYPE>` is the topic's schema with its event_type fixed and its details that type's
record (the topic's `if event_type ... then details ...` rules resolved, which tools generate from more easily). docs/openapi.json is this document
(`drive-alerts openapi > docs/openapi.json`; a unit test fails when it is stale); the intake serves it at
GET /openapi.json.
"""
from __future__ import annotations

import json
from functools import cache
from importlib.metadata import version
from typing import Any

from connectors.http.problems import FIELD_ERRORS, REFUSALS
from schemas.catalogue import EVENT_TYPES, SOURCE_TOPICS
from schemas.jsonschema import DIALECT, json_schema

_REF = "#/components/schemas/"
PROBLEM_JSON = {"application/problem+json": {"schema": {"$ref": _REF + "Problem"}}}
_REFUSALS = {
    "400": "The body is not JSON the intake reads (not UTF-8, malformed, nested too deeply) or not a record or batch",
    "403": "The agency may not send this topic or event type (or the key is another agency's)",
    "404": "Unknown topic",
    "409": "This agency already used the event_id for different content",
    "413": "The body is larger than DRIVE_INTAKE_MAX_BODY_BYTES, or the batch than DRIVE_INTAKE_MAX_BATCH",
    "415": "Not application/json",
    "422": "The record breaks the contract or the intake's limits (every bad field in `errors`), or no record of "
           "a batch was accepted (BATCH_REFUSED: each result in `results`)",
}
_RETRY = {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "string"}}}


def _hoisted(topic: str, into: dict[str, Any]) -> list[str]:
    """The topic's JSON Schema as component `topic`, its $defs as components of their own (shared ones once), and
    one component per event type; the names of those."""
    schema = json_schema(topic)
    for name, definition in schema.pop("$defs").items():
        into[name] = _rebased(definition)
    schema.pop("$schema"), schema.pop("$id")
    into[topic] = schema = _rebased(schema)
    names = []
    for event_type in EVENT_TYPES[topic]:
        names.append(f"{topic}.{event_type}")
        into[names[-1]] = _event_type(schema, event_type)
    return names


def _event_type(schema: dict[str, Any], event_type: str) -> dict[str, Any]:
    """The topic's schema for one event type: event_type fixed, details that type's record, the other rules kept."""
    rules, details = [], None
    for rule in schema.get("allOf", []):
        chosen = rule.get("then", {}).get("properties", {}).get("details")
        if chosen is None:
            rules.append(rule)
        elif rule["if"]["properties"]["event_type"].get("const") == event_type:
            details = chosen
    properties = {**schema["properties"], "event_type": {"const": event_type},
                  "details": {**details, "description": schema["properties"]["details"]["description"]}}
    out = {**schema, "title": f"{schema['title']}: {event_type}", "properties": properties}
    out.pop("allOf", None)
    return {**out, "allOf": rules} if rules else out


def _rebased(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: (v.replace("#/$defs/", _REF) if k == "$ref" else _rebased(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_rebased(item) for item in node]
    return node


def _answer_schemas() -> dict[str, Any]:
    field_codes, refusal_codes = list(FIELD_ERRORS.rows), list(REFUSALS.rows)
    field_error = {"type": "object", "required": ["path", "message"], "properties": {
        "path": {"type": "string", "description": "Dotted path inside the record, e.g. details.conditions[0].kind "
                 "(\"\" for the whole record)"},
        "pointer": {"type": "string", "description": "RFC 6901 pointer into the body sent, e.g. "
                    "/details/conditions/0/kind (in a batch: /records/3/details/...)"},
        "message": {"type": "string"},
        "code": {"enum": field_codes, "description": "The contract's reason code (see /problems#field-...)"},
        "type": {"type": "string", "format": "uri"}}}
    result = {"type": "object", "required": ["status", "event_id"], "properties": {
        "index": {"type": "integer", "minimum": 0},
        "status": {"enum": ["accepted", "duplicate", "rejected", "conflict"]},
        "event_id": {"type": ["string", "null"]},
        "errors": {"type": "array", "items": {"$ref": _REF + "FieldError"}},
        "reason": {"type": ["string", "null"]},
        "code": {"anyOf": [{"enum": refusal_codes}, {"type": "null"}]},
        "type": {"type": "string", "format": "uri"}}}
    batch = {"type": "object", "required": ["results", "accepted", "duplicates", "rejected", "conflicts"],
             "properties": {"results": {"type": "array", "items": {"$ref": _REF + "Result"}},
                            **{n: {"type": "integer", "minimum": 0}
                               for n in ("accepted", "duplicates", "rejected", "conflicts")}}}
    problem = {"type": "object", "required": ["type", "title", "status", "code", "reason"],
               "description": "RFC 9457 problem details. `status` is the outcome word answered before problem+json "
                              "(RFC 9457 consumers ignore a non-number status; the HTTP status is the answer's).",
               "properties": {
                   "type": {"type": "string", "format": "uri", "description": "<intake>/problems#<code>"},
                   "title": {"type": "string"}, "detail": {"type": "string"},
                   "status": {"enum": ["rejected", "conflict", "error"]},
                   "code": {"enum": refusal_codes}, "reason": {"type": "string"},
                   "event_id": {"type": ["string", "null"]},
                   "errors": {"type": "array", "items": {"$ref": _REF + "FieldError"}},
                   **batch["properties"]}}
    return {"FieldError": field_error, "Result": result, "Batch": batch, "Problem": problem}


def _post(topic: str, event_types: list[str]) -> dict[str, Any]:
    record = {"anyOf": [{"$ref": _REF + name} for name in event_types]}
    batch = {"type": "object", "required": ["records"], "additionalProperties": False,
             "properties": {"records": {"type": "array", "minItems": 1, "items": record}}}
    ok = {"application/json": {"schema": {"$ref": _REF + "Result"}}}
    responses: dict[str, Any] = {
        "202": {"description": "Accepted and published (a batch: every record accepted or duplicate)",
                "content": {"application/json": {"schema": {"anyOf": [{"$ref": _REF + "Result"},
                                                                      {"$ref": _REF + "Batch"}]}}}},
        "200": {"description": "The same event_id with the same content was already accepted; nothing published",
                "content": ok},
        "207": {"description": "A batch with both accepted and refused records",
                "content": {"application/json": {"schema": {"$ref": _REF + "Batch"}}}},
        "401": {"description": "Missing, wrong, revoked, stale or replayed credentials", "content": PROBLEM_JSON,
                "headers": {"WWW-Authenticate": {"description": "A Bearer and a Drive-HMAC-SHA256 challenge",
                                                 "schema": {"type": "string"}}}},
        **{status: {"description": text, "content": PROBLEM_JSON} for status, text in _REFUSALS.items()},
        "429": {"description": "Over the agency's rate limit", "content": PROBLEM_JSON, "headers": _RETRY},
        "503": {"description": "The intake's own database is unreachable; never an answer to what was sent",
                "content": PROBLEM_JSON, "headers": _RETRY},
    }
    types = ", ".join(EVENT_TYPES[topic])
    return {"post": {
        "operationId": f"post_{topic}_events", "tags": ["events"], "summary": f"Send {topic} events",
        "description": f"One record or a batch {{\"records\": [...]}} of the {topic} topic ({types}). "
                       "`person_name` may be sent: it is replaced by its keyed hash at the door.",
        "security": [{"bearer": []}, {"hmac": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"anyOf": [*record["anyOf"],
                                                                                                batch]}}}},
        "responses": responses}}


def _get(operation: str, summary: str, content: dict[str, Any], *others: str) -> dict[str, Any]:
    responses = {"200": {"description": summary, "content": content}}
    responses.update({status: {"description": "Not ready", "content": content} for status in others})
    return {"get": {"operationId": operation, "tags": ["service"], "summary": summary, "security": [],
                    "responses": responses}}


@cache
def _document() -> str:
    schemas: dict[str, Any] = {}
    event_types = {topic: _hoisted(topic, schemas) for topic in SOURCE_TOPICS}
    schemas.update(_answer_schemas())
    status = {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {
        "status": {"type": "string"}, "reason": {"type": "string"}}}}}
    paths: dict[str, Any] = {f"/v1/topics/{topic}/events": _post(topic, event_types[topic]) for topic in SOURCE_TOPICS}
    paths.update({
        "/healthz": _get("healthz", "The process answers", status),
        "/readyz": _get("readyz", "Ready: Kafka producer connected, database reachable", status, "503"),
        "/metrics": _get("metrics", "Prometheus metrics", {"text/plain": {"schema": {"type": "string"}}}),
        "/openapi.json": _get("openapi", "This document", {"application/json": {"schema": {"type": "object"}}}),
        "/problems": _get("problems", "What each problem type (refusal code, field error code) means",
                          {"text/html": {"schema": {"type": "string"}}})})
    document = {
        "openapi": "3.1.0", "jsonSchemaDialect": DIALECT,
        "info": {"title": "drive-alerts HTTP intake", "version": version("drive-alerts"),
                 "description": "Agency systems send events of the drive-alerts event contract "
                                "(docs/event-contract.md). Every refusal is application/problem+json (RFC 9457) "
                                "with a type per code, documented at /problems."},
        "tags": [{"name": "events", "description": "Agency events, one record or a batch"},
                 {"name": "service", "description": "Health, readiness, metrics and documents"}],
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.items())), "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "An agency API key"},
            "hmac": {"type": "apiKey", "in": "header", "name": "X-Drive-Signature",
                     "description": "v1=<hex HMAC-SHA256(secret, \"<X-Drive-Timestamp>.<body>\")>, sent with "
                                    "X-Drive-Agency (the agency id) and X-Drive-Timestamp (unix seconds, within "
                                    "DRIVE_INTAKE_SIGNATURE_MAX_AGE_S); each signature is accepted once"}}},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def openapi_document() -> dict[str, Any]:
    """The document as a fresh dict."""
    return json.loads(_document())


def openapi_text() -> str:
    """The document as docs/openapi.json holds it."""
    return _document()
