"""The event contract: .avsc schemas, topic catalogue, JSON form, Confluent-framed Avro codec and typed events.

Modules: catalogue (topics), registry (schemas by topic/version), jsonform (integrator JSON <-> datum),
codec (wire format), events (typed dataclasses), compat (evolution check). Imports no I/O libraries.
"""
