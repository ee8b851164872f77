"""SchemaIds over a Confluent-compatible schema registry's REST API (stdlib urllib; ids and schemas cached)."""
from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryError(RuntimeError):
    """The schema registry could not be reached or refused a request."""


class ConfluentSchemaIds:
    """Registers value schemas and looks ids up in a Confluent-compatible registry (POST subject versions, GET ids)."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None, timeout: float = 5) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._auth = None
        if username is not None:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode("ascii")
            self._auth = f"Basic {token}"
        self._ids: dict[tuple[str, str], int] = {}
        self._schemas: dict[int, dict] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never shows the credentials
        return f"ConfluentSchemaIds(url={self.url!r})"

    def id_for(self, subject: str, schema: dict) -> int:
        """The registry id of a schema under a subject, registering it (idempotent on the registry's side)."""
        text = json.dumps(schema, separators=(",", ":"))
        key = (subject, text)
        with self._lock:
            if key in self._ids:
                return self._ids[key]
        path = f"/subjects/{urllib.parse.quote(subject, safe='')}/versions"
        answer = self._request("POST", path, {"schema": text})
        schema_id = answer.get("id")
        if not isinstance(schema_id, int):
            raise SchemaRegistryError(f"registry answered POST {path} without an integer id")
        with self._lock:
            self._ids[key] = schema_id
            self._schemas.setdefault(schema_id, json.loads(text))
        return schema_id

    def schema_for_id(self, schema_id: int) -> dict:
        """The schema with an id; KeyError when the registry has none (404)."""
        with self._lock:
            if schema_id in self._schemas:
                return self._schemas[schema_id]
        try:
            answer = self._request("GET", f"/schemas/ids/{int(schema_id)}")
        except _NotFound:
            raise KeyError(schema_id) from None
        text = answer.get("schema")
        if not isinstance(text, str):
            raise SchemaRegistryError(f"registry answered GET /schemas/ids/{schema_id} without a schema")
        schema = json.loads(text)
        with self._lock:
            self._schemas[schema_id] = schema
        return schema

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Accept", CONTENT_TYPE)
        if data is not None:
            request.add_header("Content-Type", CONTENT_TYPE)
        if self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = _error_message(exc)
            if exc.code == 404:
                raise _NotFound(f"{method} {path}: 404 {detail}") from None
            raise SchemaRegistryError(f"schema registry refused {method} {path}: HTTP {exc.code} {detail}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SchemaRegistryError(f"schema registry at {self.url} unreachable ({method} {path}): {exc}") from None
        except json.JSONDecodeError:
            raise SchemaRegistryError(f"schema registry answered {method} {path} with invalid JSON") from None


class _NotFound(SchemaRegistryError):
    """404 from the registry."""


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        payload = json.loads(exc.read() or b"{}")
    except (json.JSONDecodeError, OSError):
        return ""
    return str(payload.get("message", "")) if isinstance(payload, dict) else ""
