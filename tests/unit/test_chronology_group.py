"""The chronology consumer group belongs to one deployment."""
from __future__ import annotations

from consumers.chronology.feed import group_id
from runtime.settings import Settings


def test_deployments_sharing_a_cluster_never_share_the_chronology_group(tmp_path):
    """Two topic prefixes give two chronology groups, each named under its own prefix."""
    first, second = (Settings(data_dir=tmp_path, topic_prefix=p) for p in ("north.", "south."))
    assert (group_id(first), group_id(second)) == ("north.chronology", "south.chronology")
