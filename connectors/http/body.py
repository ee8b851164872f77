"""An intake body read with the contract's bounded parser: one record, or a batch whose records are parsed one by one.

A batch `{"records": [...]}` is split into its records' texts first (schemas.jsonparse.split_items), so a record
too deep, too long or malformed costs only itself. Anything else is parsed whole.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemas.jsonparse import JsonLimits, JsonRefused, parse_json, split_items

BATCH_MEMBER = "records"


@dataclass(frozen=True)
class Item:
    """One record of a batch: its exact bytes, and its value or why the parser refused it."""

    raw: bytes
    value: Any = None
    refused: JsonRefused | None = None


@dataclass(frozen=True)
class Body:
    """A body as read: the items of a batch, or the document of anything else (or why it did not parse)."""

    items: list[Item] | None = None
    document: Any = None
    refused: JsonRefused | None = None


def read_body(data: bytes, limits: JsonLimits) -> Body:
    """The batch's items, or the whole document; a refusal of the body itself is in `refused`, never raised."""
    try:
        texts = split_items(data, BATCH_MEMBER, limits)
        if texts is None:
            return Body(document=parse_json(data, limits))
    except JsonRefused as refused:
        return Body(refused=refused)
    return Body(items=[_item(text, limits) for text in texts])


def _item(text: str, limits: JsonLimits) -> Item:
    raw = text.strip(" \t\r\n").encode("utf-8")
    try:
        return Item(raw, parse_json(raw, limits))
    except JsonRefused as refused:
        return Item(raw, refused=refused)


def about_a_field(refused: JsonRefused) -> bool:
    """True when a refusal is about one value inside a record (a path from one of its keys), not the body as such."""
    return bool(refused.path) and not refused.path.startswith("[")
