"""ConfluentSchemaIds against a small real HTTP registry on 127.0.0.1 (a fake of the external Confluent API)."""
from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runtime.schema_registry import ConfluentSchemaIds, SchemaRegistryError
from schemas import avro_schemas as registry
from schemas.codec import AvroCodec, CodecError
from schemas.jsonform import from_json, to_json
from tests.samples.events import SAMPLES, sample

pytestmark = pytest.mark.integration
USER, PASSWORD = "svc-drive", "s3cret-pw"


class _Registry:
    """State of the fake registry: subjects -> schema texts, ids, and a log of requests."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.subjects: dict[str, list[str]] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def register(self, subject: str, text: str) -> int:
        with self.lock:
            schema_id = self.ids.setdefault(text, 100 + len(self.ids))
            versions = self.subjects.setdefault(subject, [])
            if text not in versions:
                versions.append(text)
            return schema_id

    def text_of(self, schema_id: int) -> str | None:
        return next((text for text, i in self.ids.items() if i == schema_id), None)


def _handler(state: _Registry):
    expected_auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def _reply(self, status: int, body: dict) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _authorised(self) -> bool:
            if self.headers.get("Authorization") != expected_auth:
                self._reply(401, {"error_code": 40101, "message": "Unauthorized"})
                return False
            return True

        def do_POST(self):
            state.requests.append(("POST", self.path))
            if not self._authorised():
                return
            parts = self.path.strip("/").split("/")
            if len(parts) != 3 or parts[0] != "subjects" or parts[2] != "versions":
                return self._reply(404, {"error_code": 404, "message": "Not found"})
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                json.loads(body["schema"])
            except (KeyError, ValueError):
                return self._reply(422, {"error_code": 42201, "message": "Invalid schema"})
            self._reply(200, {"id": state.register(parts[1], body["schema"])})

        def do_GET(self):
            state.requests.append(("GET", self.path))
            if not self._authorised():
                return
            parts = self.path.strip("/").split("/")
            if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and parts[2].isdigit():
                text = state.text_of(int(parts[2]))
                if text is None:
                    return self._reply(404, {"error_code": 40403, "message": "Schema not found"})
                return self._reply(200, {"schema": text})
            self._reply(404, {"error_code": 404, "message": "Not found"})

    return Handler


@pytest.fixture
def fake_registry():
    """A registry serving the Confluent API subset on a free loopback port."""
    state = _Registry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_codec_round_trip_through_the_registry(fake_registry):
    """Encoding registers the latest schema under the topic's subject; decoding fetches it back by id."""
    state, url = fake_registry
    writer = AvroCodec(ConfluentSchemaIds(url, USER, PASSWORD), prefix="test.")
    record = SAMPLES[("incident", "DOMESTIC_INCIDENT")]
    data = writer.encode("incident", from_json("incident", record))
    assert int.from_bytes(data[1:5], "big") == 100
    assert json.loads(state.subjects["test.incident-value"][0]) == registry.schema_for("incident")
    reader = AvroCodec(ConfluentSchemaIds(url, USER, PASSWORD), prefix="test.")
    assert to_json("incident", reader.decode(data)) == record
    assert ("GET", "/schemas/ids/100") in state.requests


def test_ids_and_schemas_are_cached(fake_registry):
    """Many records cost one registration and one lookup."""
    state, url = fake_registry
    codec = AvroCodec(ConfluentSchemaIds(url, USER, PASSWORD))
    fresh = AvroCodec(ConfluentSchemaIds(url, USER, PASSWORD))
    for _ in range(5):
        fresh.decode(codec.encode("breach", from_json("breach", sample("breach", "EM_ZONE_EXIT"))))
    assert state.requests.count(("POST", "/subjects/drive.breach-value/versions")) == 1
    assert len([r for r in state.requests if r[0] == "GET"]) == 1


def test_registered_schema_text_is_the_resolved_schema(fake_registry):
    """The text sent to the registry is compact JSON of the fully resolved schema, per subject."""
    state, url = fake_registry
    ids = ConfluentSchemaIds(url, USER, PASSWORD)
    first = ids.id_for("drive.bail-value", registry.schema_for("bail"))
    second = ids.id_for("drive.court-value", registry.schema_for("court"))
    assert first != second
    text = state.subjects["drive.bail-value"][0]
    assert text == json.dumps(registry.schema_for("bail"), separators=(",", ":"))
    # shared types are defined inline at first use, referred to by name afterwards
    assert text.index('"name":"Condition","namespace":"drive.common"') < text.index('"drive.common.Condition"')


def test_unknown_id_is_a_codec_error(fake_registry):
    """An id the registry does not have (404) decodes to a clear CodecError."""
    _, url = fake_registry
    codec = AvroCodec(ConfluentSchemaIds(url, USER, PASSWORD))
    with pytest.raises(CodecError, match="unknown schema id 4242"):
        codec.decode(b"\x00" + (4242).to_bytes(4, "big") + b"\x00")


def test_wrong_credentials_are_refused_without_echoing_them(fake_registry):
    """A 401 is a SchemaRegistryError naming the status, and neither the error nor repr shows the password."""
    _, url = fake_registry
    ids = ConfluentSchemaIds(url, USER, "wrong-password")
    with pytest.raises(SchemaRegistryError, match="HTTP 401 Unauthorized") as caught:
        ids.id_for("drive.bail-value", registry.schema_for("bail"))
    assert "wrong-password" not in str(caught.value) and "wrong-password" not in repr(ids)


def test_unreachable_registry_is_a_clear_error():
    """A registry that is not listening gives a SchemaRegistryError saying so."""
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ids = ConfluentSchemaIds(f"http://127.0.0.1:{port}", timeout=1)
    with pytest.raises(SchemaRegistryError, match="unreachable"):
        ids.schema_for_id(1)
