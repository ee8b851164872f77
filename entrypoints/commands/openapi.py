"""`drive-alerts openapi`: the intake's OpenAPI document, or the problem types page, exactly as docs/ holds them."""
from __future__ import annotations

import argparse

from connectors.http.openapi import openapi_text
from connectors.http.problems import SECTIONS
from consumers.acks.webhooks import WEBHOOK_REFUSALS
from runtime.problems import page_markdown
from runtime.settings import Settings

PROBLEMS_TITLE = "Problem types"
PROBLEMS_INTRO = ("Every refusal of the HTTP intake and of the webhooks is `application/problem+json` (RFC 9457). "
                  "Its `type` is `<service>/problems#<anchor>`: the intake's (`DRIVE_INTAKE_PUBLIC_URL`) or the "
                  "webhooks' (`DRIVE_PUBLIC_BASE_URL`) own page, which says what this page says. This file is "
                  "generated: `drive-alerts openapi --problems > docs/problems.md`.")


def problems_markdown() -> str:
    """docs/problems.md: the intake's refusal and field error codes and the webhooks' refusal codes."""
    return page_markdown(PROBLEMS_TITLE, PROBLEMS_INTRO, [*SECTIONS, WEBHOOK_REFUSALS])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `openapi`."""
    parser.add_argument("--problems", action="store_true", help="print docs/problems.md instead of docs/openapi.json")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the document."""
    print(problems_markdown() if args.problems else openapi_text(), end="")
    return 0
