"""Helpers for the mapping unit tests: load a shipped sample feed mapping, check a record against the contract."""
from __future__ import annotations

from typing import Any

from connectors.mappings.config import FeedMapping, default_mappings_dir, load_mapping
from schemas.jsonform import from_json


def sample_mapping(file_stem: str) -> FeedMapping:
    """The example feed mapping connectors/mappings/sample_config/<file_stem>.yaml."""
    return load_mapping(default_mappings_dir() / f"{file_stem}.yaml")


def assert_contract_valid(topic: str, record: dict[str, Any]) -> None:
    """The record passes the contract once the intake core has replaced person_name by a hash."""
    record = dict(record)
    if record.pop("person_name", None) is not None:
        record["name_hash"] = "0123abcd" * 8
    from_json(topic, record)
