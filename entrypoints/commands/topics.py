"""`drive-alerts topics apply [--dry-run]`: create or fix every catalogue topic."""
from __future__ import annotations

import argparse

from runtime.kafka import broker_for, with_bootstrap
from runtime.settings import Settings
from runtime.topics import ensure_topics, plan_topics
from schemas.catalogue import TOPICS
from streams.app import internal_topic_specs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `topics`."""
    actions = parser.add_subparsers(dest="topics_action", metavar="ACTION", required=True)
    apply = actions.add_parser("apply", help="create missing topics and fix drifted configs")
    apply.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the plan (dry run) or apply it and print each topic's status."""

    specs = [*TOPICS.values(), *internal_topic_specs(settings)]
    with broker_for(settings) as bootstrap:
        bound = with_bootstrap(settings, bootstrap)
        if args.dry_run:
            for plan in plan_topics(bound, specs):
                print(plan.describe())
            print(f"dry run against {bootstrap}: nothing changed")
            return 0
        for topic, status in ensure_topics(bound, specs).items():
            print(f"{status:<8} {topic}")
    return 0
