"""Generated source of the Event envelope module and of the modules re-exporting the generated classes."""
from __future__ import annotations

from typing import Any

from schemas import avro_schemas as registry
from schemas._codegen import EXTERNAL, Imports, Namer, field_code, pack
from schemas._schemawalk import named_types
from schemas.catalogue import EVENT_TYPES, SOURCE_TOPICS, TOPICS

Found = dict[str, dict[str, tuple[dict, str | None, dict]]]
_PACKAGE = "schemas.generated"
_DETAILS_NAMESPACES = ("incident", "bail", "court", "breach", "case")


def import_lines(imports: Imports, here: str = "") -> list[str]:
    """`from m import a, b` lines: the standard library first, then the project's modules."""
    groups: list[list[str]] = [[], []]
    for module, names in sorted(imports.names.items()):
        if names and module != here:
            groups[module.startswith("schemas")] += pack(f"from {module} import ", sorted(names), "") \
                if len(f"from {module} import {', '.join(names)}") <= 120 \
                else pack(f"from {module} import (", sorted(names), ")")
    gap = [""] if groups[0] and groups[1] else []
    return ["from __future__ import annotations", "", *groups[0], *gap, *groups[1]]


def _union(name: str, members: list[str]) -> list[str]:
    text = f"{name} = {' | '.join(members)}"
    if len(text) <= 120:
        return [text]
    lines, line = [f"{name} = ("], "    "
    for i, member in enumerate(members):
        piece = member if i == 0 else f"| {member}"
        if line.strip() and len(line) + len(piece) + 1 > 120:
            lines.append(line)
            line = "    "
        line = f"{line} {piece}" if line.strip() else f"{line}{piece}"
    return [*lines, line, ")"]


def envelope_module(found: Found, modules: dict[str, str], envelope: list[dict[str, Any]], header: str) -> str:
    """generated/events.py: the Event envelope, the details and event-type unions, the readers of each topic."""
    here = f"{_PACKAGE}.events"
    imports, namer = Imports(), Namer(modules)
    enums = {t: namer.ref(_event_type_enum(t), here, imports) for t in SOURCE_TOPICS}
    details = [namer.ref(name, here, imports) for module in _DETAILS_NAMESPACES
               for name, (d, _, _) in found[module].items() if d["type"] == "record" and _is_details(name)]
    records = {t: namer.ref(TOPICS[t].value_schema, here, imports) for t in TOPICS if t not in SOURCE_TOPICS}
    names = named_types(registry.schema_for(SOURCE_TOPICS[0]))
    codes = [(f["name"], field_code(f["type"], "drive.common", names, namer, here, imports)) for f in envelope]
    for module, name in (("dataclasses", "dataclass"), ("typing", "Any"), ("collections.abc", "Callable"),
                         ("enum", "StrEnum"), ("schemas.record", "Record"), ("schemas.record", "member")):
        imports.add(module, name)
    fields = [f"    {n}: {c.annotation}" + (f" = {c.default}" if c.default else "") for n, c in codes]
    fields.insert(1, "    event_type: EventType")
    reads = [f"            {n}={c.read(f'get({chr(34)}{n}{chr(34)})')}," for n, c in codes]
    reads.insert(1, "            event_type=event_type,")
    writes = [f'            "{n}": {c.write(f"self.{n}")},' for n, c in codes]
    writes.insert(1, '            "event_type": str(self.event_type),')
    reader_lines: list[str] = []
    for topic in SOURCE_TOPICS:
        pairs = [f'"{et}": {record}' for et, record in EVENT_TYPES[topic].items()]
        reader_lines += pack(f'    "{topic}": _reader({enums[topic]}, {{', pairs, "}),")
    title = header.format(what="The Event envelope and the record class of each topic")
    lines = [title, *import_lines(imports, here), "",
             *_union("EventType", list(enums.values())), *_union("Details", details), "",
             *pack("DETAILS_CLASSES: dict[str, type[Record]] = {cls.__name__: cls for cls in (", details, ")}"),
             *pack("EVENT_TYPE_ENUMS: dict[str, type[StrEnum]] = {", [f'"{t}": {e}' for t, e in enums.items()], "}"),
             "_TOPIC_OF_ENUM = {enum: topic for topic, enum in EVENT_TYPE_ENUMS.items()}",
             *pack("RECORD_CLASSES: dict[str, type[Record]] = {", [f'"{t}": {r}' for t, r in records.items()], "}"),
             "", "", "@dataclass(frozen=True, slots=True, kw_only=True)", "class Event(Record):",
             '    """The envelope of every source-topic event; `details` is the record named by `event_type`."""', "",
             *fields, "    details: Details", "", "    @property", "    def topic(self) -> str:",
             '        """The source topic the event belongs on (from its event type\'s enum)."""',
             "        return _TOPIC_OF_ENUM[type(self.event_type)]", "", "    @classmethod",
             "    def from_datum(cls, datum: dict[str, Any]) -> Event:  # type: ignore[override]",
             '        """Not available: the topic is needed to read event_type; use event_from_datum(topic, datum)."""',
             '        raise TypeError("use event_from_datum(topic, datum)")', "",
             "    def to_datum(self) -> dict[str, Any]:", "        return {", *writes,
             '            "details": self.details.to_datum(),', "        }", "", "",
             "def _reader(enum: type[Any], branches: dict[str, type[Any]]) -> Callable[[dict[str, Any]], Event]:",
             "    def read(datum: dict[str, Any]) -> Event:",
             "        get = datum.get", '        event_type = member(enum, str(get("event_type")))',
             '        body = get("details")', "        if type(body) is tuple:  # fastavro's (record name, record)",
             "            body = body[1]", "        return Event(", *reads,
             "            details=branches[event_type].from_datum(body),", "        )", "", "    return read", "", "",
             "_READERS = {", *reader_lines, "}", "", "",
             "def event_from_datum(topic: str, datum: dict[str, Any]) -> Event:",
             '    """The typed Event of a source-topic datum (as from_json or AvroCodec.decode return it)."""',
             "    return _READERS[topic](datum)"]
    return "\n".join(lines) + "\n"


def _event_type_enum(topic: str) -> str:
    field = next(f for f in registry.schema_for(topic)["fields"] if f["name"] == "event_type")
    return f"{TOPICS[topic].namespace}.{field['type']['name']}"


def _is_details(name: str) -> bool:
    return any(name == f"{TOPICS[t].namespace}.{record}" for t in SOURCE_TOPICS for record in EVENT_TYPES[t].values())


def facade_modules(found: Found, modules: dict[str, str], header: str) -> dict[str, str]:
    """schemas/enums.py, details.py, shared.py, case_details.py and events.py: the names the code imports."""
    by_kind: dict[str, list[tuple[str, str]]] = {"enums": [], "details": [], "shared": [], "case_details": []}
    for module, types in found.items():
        for name, (definition, _, _) in types.items():
            cls = name.rsplit(".", 1)[1]
            if name in EXTERNAL:
                continue
            if definition["type"] == "enum":
                by_kind["enums"].append((modules[name], cls))
            elif module == "common":
                by_kind["shared"].append((modules[name], cls))
            elif module == "case":
                by_kind["case_details"].append((modules[name], cls))
            elif _is_details(name):
                by_kind["details"].append((modules[name], cls))
    by_kind["shared"].insert(0, ("schemas.record", "Record"))
    by_kind["details"] += [*by_kind["case_details"], (f"{_PACKAGE}.events", "DETAILS_CLASSES"),
                           (f"{_PACKAGE}.events", "Details")]
    docs = {"enums": "Every enum of the contract",
            "details": "The details record of every event type",
            "shared": "The shared records of drive.common and their base",
            "case_details": "The case topic's records (cases and staff)"}
    base = (("enum", "StrEnum"),)  # the base of every enum here, for code that looks them up
    out = {f"schemas/{kind}.py": _facade(header.format(what=docs[kind]), pairs, base if kind == "enums" else ())
           for kind, pairs in by_kind.items()}
    events = [(f"{_PACKAGE}.events", n) for n in ("EVENT_TYPE_ENUMS", "RECORD_CLASSES", "Event", "EventType",
                                                   "event_from_datum")]
    events += [(modules[TOPICS[t].value_schema], TOPICS[t].value_schema.rsplit(".", 1)[1]) for t in TOPICS
               if t not in SOURCE_TOPICS]
    parts = ("drive.alert.AlertRecipient", "drive.deadletter.DeadLetterSource")
    events += [(modules[n], n.rsplit(".", 1)[1]) for n in parts]
    events += [("schemas.errors", "FieldError"), ("schemas.record", "to_datum_value")]
    events += [pair for pair in by_kind["shared"] if pair[1] != "Record"] + by_kind["details"]
    out["schemas/events.py"] = _facade(header.format(what="Typed events, alerts, deliveries and dead letters"),
                                       events)
    return out


def _facade(doc: str, pairs: list[tuple[str, str]], unlisted: tuple[tuple[str, str], ...] = ()) -> str:
    imports = Imports()
    for module, name in (*pairs, *unlisted):
        imports.add(module, name)
    lines = [doc, *import_lines(imports), "", *pack("__all__ = [", [f'"{n}"' for _, n in pairs], "]")]
    return "\n".join(lines) + "\n"
