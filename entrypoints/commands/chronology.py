"""`drive-alerts chronology SUBJECT`: one subject's review-grade chronology (printable HTML or Markdown)."""
from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from consumers.chronology.feed import ChronologyFeed, group_id
from consumers.chronology.render import render
from consumers.chronology.review import review
from entrypoints import bootstrap
from runtime.codec import codec_for
from runtime.kafka import make_consumer
from runtime.settings import Settings
from schemas.subject_events import SUBJECT_EVENTS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `drive-alerts chronology`."""
    parser.add_argument("subject", nargs="?", help="Drive subject id whose chronology to render")
    parser.add_argument("--format", choices=("markdown", "html"), default="markdown", help="output format")
    parser.add_argument("--out", type=Path, default=None, help="write to this file instead of standard output")
    parser.add_argument("--ingest", action="store_true",
                        help="instead: consume the subject-events topic into the chronology until Ctrl-C")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Render the chronology (or, with --ingest, feed it from the topic until interrupted)."""
    with bootstrap.database(settings) as engine:
        if args.ingest:
            consumer = make_consumer(settings, settings.topic(SUBJECT_EVENTS), group_id=group_id(settings))
            ChronologyFeed(consumer, sessionmaker(engine), codec_for(settings)).run(threading.Event())
            return 0
        if not args.subject:
            print("drive-alerts chronology: give a SUBJECT (or --ingest)", file=sys.stderr)
            return 2
        with Session(engine) as session:
            text = render(args.format, review(session, args.subject, settings.chronology_silence_h))
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0
