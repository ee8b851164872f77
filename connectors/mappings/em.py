"""Electronic-monitoring provider feeds (zone entry/exit, tag tamper, signal loss) -> breach.

Standard vocabulary beyond the envelope: device_ref, zone_ref, force_area, restored.
"""
from __future__ import annotations

from typing import Callable

from connectors.mappings.common import optional
from connectors.mappings.fields import RowFields

VOCABULARY = frozenset({"device_ref", "zone_ref", "force_area", "restored"})


def zone_entry(f: RowFields) -> dict:
    """EM_ZONE_ENTRY: the tag entered an exclusion zone."""
    details = {"device_ref": f.text("device_ref"), "zone_ref": f.text("zone_ref")}
    return optional(details, force_area=f.text("force_area", required=False))


def zone_exit(f: RowFields) -> dict:
    """EM_ZONE_EXIT: the tag left an exclusion zone."""
    return {"device_ref": f.text("device_ref"), "zone_ref": f.text("zone_ref")}


def tag_tamper(f: RowFields) -> dict:
    """EM_TAG_TAMPER: the tag reported tampering."""
    return {"device_ref": f.text("device_ref")}


def signal_loss(f: RowFields) -> dict:
    """EM_SIGNAL_LOSS: the tag lost (or regained, restored=yes) its signal."""
    return {"device_ref": f.text("device_ref"), "restored": f.flag("restored")}


DETAILS: dict[str, Callable[[RowFields], dict]] = {
    "EM_ZONE_ENTRY": zone_entry,
    "EM_ZONE_EXIT": zone_exit,
    "EM_TAG_TAMPER": tag_tamper,
    "EM_SIGNAL_LOSS": signal_loss,
}
