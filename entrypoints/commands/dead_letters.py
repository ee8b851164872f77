"""`drive-alerts dead-letters list | show ID [--unseal] | replay (ID ...|--all) [--dry-run] | unseal-file PATH`."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.dead_letters.replay import DeadLetterStore, Resubmitter, Unreplayable, replay
from connectors.intake.sealed import SealBroken, sealer_for, vault_for
from entrypoints.bootstrap import feed_mappings, filedrop_root, intake_process
from migrations import upgrade
from runtime.codec import codec_for
from runtime.db import make_engine
from runtime.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `dead-letters`."""
    actions = parser.add_subparsers(dest="dead_letters_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="one JSON line per dead letter (no raw payload)")
    listing.add_argument("--since", type=_timestamp, default=None, help="only those refused at or after this ISO time")
    listing.add_argument("--reason", default=None, help="only this reason code, e.g. VALIDATION_FAILED")
    show = actions.add_parser("show", help="one dead letter with the description of its record (no values)")
    show.add_argument("dead_letter_id")
    show.add_argument("--unseal", action="store_true",
                      help="also print the sealed raw record (needs DRIVE_DEAD_LETTER_KEY; names hashed at the door)")
    unseal = actions.add_parser("unseal-file", help="write the clear bytes of a sealed file (file drop failed/) to stdout")
    unseal.add_argument("path", type=Path)
    again = actions.add_parser("replay", help="re-submit dead letters through the intake after a contract/mapping fix")
    again.add_argument("ids", nargs="*", metavar="ID", help="dead letter ids")
    again.add_argument("--all", action="store_true", help="every dead letter not replayed before")
    again.add_argument("--reason", default=None, help="with --all: only this reason code")
    again.add_argument("--dry-run", action="store_true", help="say what would be re-submitted; change nothing")


def _timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _store(settings: Settings) -> Any:

    url = settings.resolved_database_url
    upgrade(url)
    engine = make_engine(url)
    return DeadLetterStore(engine, codec_for(settings), vault_for(settings, engine))


def _show(dead: Any, store: DeadLetterStore, unseal: bool) -> dict[str, Any]:
    shown = {**dead.summary(), "content_type": dead.content_type}
    shown["description" if dead.sealed else "raw"] = (json.loads(dead.raw) if dead.sealed
                                                      else dead.raw.decode("utf-8", "replace"))
    if unseal and dead.sealed:
        try:
            payload = store.payload(dead)
            shown["unsealed"] = {"content_type": payload.content_type, "header": list(payload.header),
                                 "raw": payload.data.decode("utf-8", "replace")}
        except Unreplayable as exc:
            shown["unsealed"] = {"error": str(exc)}
    return shown


def _unseal_file(settings: Settings, path: Path) -> int:
    try:
        for chunk in sealer_for(settings).open_file(path):
            sys.stdout.buffer.write(chunk)
    except (OSError, SealBroken) as exc:
        print(f"cannot unseal {path}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.buffer.flush()
    return 0


def _resubmitter(settings: Settings) -> Any:

    return Resubmitter(feed_mappings(settings), filedrop_root(settings))


def _chosen(args: argparse.Namespace, store: Any) -> list[Any] | None:
    if args.all == bool(args.ids):
        return None
    if args.all:
        return store.list(reason=args.reason)
    return [store.get(i) for i in args.ids]


def _replay(args: argparse.Namespace, settings: Settings, store: Any) -> int:

    chosen = _chosen(args, store)
    if chosen is None:
        print("drive-alerts dead-letters replay: give dead letter ids or --all (not both)")
        return 2
    if any(d is None for d in chosen):
        missing = [i for i, d in zip(args.ids, chosen) if d is None]
        print(f"unknown dead letter id(s): {', '.join(missing)}")
        return 1
    if args.dry_run:
        results = replay(chosen, store, _resubmitter(settings), None, dry_run=True)
    else:

        with intake_process(settings) as (intake, _base):
            results = replay(chosen, store, _resubmitter(settings), intake)
    for result in results:
        print(json.dumps(result.__dict__, ensure_ascii=False))
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    """List, show or replay dead letters, or unseal a sealed file."""
    if args.dead_letters_action == "unseal-file":
        return _unseal_file(settings, args.path)
    store = _store(settings)
    try:
        if args.dead_letters_action == "list":
            for dead in store.list(since=args.since, reason=args.reason):
                print(json.dumps(dead.summary(), ensure_ascii=False))
            return 0
        if args.dead_letters_action == "show":
            dead = store.get(args.dead_letter_id)
            if dead is None:
                print(f"unknown dead letter id: {args.dead_letter_id}")
                return 1
            print(json.dumps(_show(dead, store, args.unseal), ensure_ascii=False, indent=2))
            return 0
        return _replay(args, settings, store)
    finally:
        store.engine.dispose()
