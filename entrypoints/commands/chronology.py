"""`drive-alerts chronology SUBJECT`: one subject's review-grade chronology (printable HTML or Markdown)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy.orm import Session

from consumers.chronology.render import render
from consumers.chronology.review import review
from entrypoints import bootstrap
from runtime.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `drive-alerts chronology` (the feed that fills it is its own process: `chronology-feed`)."""
    parser.add_argument("subject", help="Drive subject id whose chronology to render")
    parser.add_argument("--format", choices=("markdown", "html"), default="markdown", help="output format")
    parser.add_argument("--out", type=Path, default=None, help="write to this file instead of standard output")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Render the chronology."""
    with bootstrap.database(settings) as engine, Session(engine) as session:
        text = render(args.format, review(session, args.subject, settings.chronology_silence_h))
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0
