"""The event contract: .avsc schemas, topic catalogue, JSON form, Confluent-framed Avro codec and typed events.

The .avsc files are the one source: avro_schemas loads them (and strips the drive.* validation attributes from
what is published), jsonvalidate compiles the JSON-form validator from them, generate writes the typed classes
(generated/, re-exported by enums, details, shared, case_details, events) and the JSON Schemas (jsonschema).
Also: catalogue (topics), codec (wire format), compat (evolution check), jsonparse (bounded JSON parsing),
admission (the door's checks). Imports no I/O libraries.
"""
