"""`drive-alerts deploy strimzi-topics | strimzi-users | acl-table`: Strimzi resources and ACLs from the catalogue."""
from __future__ import annotations

import argparse
from pathlib import Path

from entrypoints.strimzi import CLUSTER, acl_table, topics_yaml, users_yaml
from runtime.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `deploy`."""
    actions = parser.add_subparsers(dest="deploy_action", metavar="ACTION", required=True)
    topics = actions.add_parser("strimzi-topics", help="KafkaTopic YAML for every catalogue and streams topic")
    topics.add_argument("--replicas", type=int, default=3, help="replication factor of every topic")
    users = actions.add_parser("strimzi-users", help="KafkaUser YAML: one SCRAM user per service with exactly its ACLs")
    for action in (topics, users):
        action.add_argument("--cluster", default=CLUSTER, help="Strimzi Kafka cluster name (label strimzi.io/cluster)")
        action.add_argument("--output", type=Path, default=None, help="write to this file instead of stdout")
    table = actions.add_parser("acl-table", help="the Markdown table of each service's Kafka ACLs (for the docs)")
    table.add_argument("--output", type=Path, default=None, help="write to this file instead of stdout")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print or write the chosen resources."""
    if args.deploy_action == "strimzi-topics":
        text = topics_yaml(settings, args.cluster, args.replicas)
    elif args.deploy_action == "strimzi-users":
        text = users_yaml(settings, args.cluster)
    else:
        text = acl_table(settings) + "\n"
    if args.output is None:
        print(text, end="")
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0
