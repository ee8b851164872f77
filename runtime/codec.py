"""The one Avro codec of a process: the schema registry's ids when one is configured, else the shipped id table."""
from __future__ import annotations

from runtime.schema_registry import ConfluentSchemaIds
from runtime.settings import Settings
from schemas.codec import AvroCodec


def codec_for(settings: Settings) -> AvroCodec:
    """Every process reads and writes the same ids: mixing a registry codec with the local table would misread data."""
    if settings.schema_registry_url:

        password = settings.schema_registry_password
        ids = ConfluentSchemaIds(settings.schema_registry_url, settings.schema_registry_username,
                                 password.get_secret_value() if password else None)
        return AvroCodec(ids, prefix=settings.topic_prefix)
    return AvroCodec(prefix=settings.topic_prefix)
