"""What the intake answers: outcomes as JSON, every refusal as problem+json, 401s with their WWW-Authenticate challenges.

The fields answered before problem+json stay as they were (`status` as a word, `reason`, `code`, `event_id`, `errors`
with `path` and `message`); problem+json adds `type`, `title` and `detail`, and each error's `pointer`, `code` and
`type`. Success answers (202, 200, 207) stay application/json.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from connectors.http.problems import Problems
from connectors.intake.submit import IntakeOutcome

REALM = 'realm="drive-alerts intake"'
HMAC_SCHEME = "Drive-HMAC-SHA256"
SIGNATURE_HEADERS = 'headers="X-Drive-Agency X-Drive-Timestamp X-Drive-Signature"'
RETRY_AFTER_S = {429: "1", 503: "5"}
_REFUSED = ("rejected", "conflict")


def outcome_body(problems: Problems, outcome: IntakeOutcome, prefix: str = "") -> dict[str, Any]:
    """One record's result: status and event id; when refused, its errors (pointers under `prefix`), reason, code."""
    body: dict[str, Any] = {"status": outcome.status, "event_id": outcome.event_id}
    if outcome.status in _REFUSED:
        body["errors"] = problems.errors(outcome.errors, prefix)
        body["reason"], body["code"] = outcome.reason, outcome.code
    return body


def single(problems: Problems, status: int, outcome: IntakeOutcome) -> web.Response:
    """The answer to a one-record body (or a body refused whole): JSON when taken, problem+json when refused."""
    if outcome.status not in _REFUSED:
        return web.json_response(outcome_body(problems, outcome), status=status)
    code = outcome.code or "VALIDATION_FAILED"
    return problems.answer(status, code, outcome.reason, outcome_body(problems, outcome))


def batch(problems: Problems, outcomes: Sequence[IntakeOutcome]) -> tuple[int, web.Response]:
    """202 when every record was taken, 207 when some, 422 (problem+json, BATCH_REFUSED) when none."""
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0, "conflict": 0}
    results = []
    for index, outcome in enumerate(outcomes):
        counts[outcome.status] += 1
        result = {"index": index, **outcome_body(problems, outcome, f"/records/{index}")}
        result.setdefault("errors", [])
        if outcome.status in _REFUSED and outcome.code:
            result["type"] = problems.standard(outcome.code, None)["type"]
        results.append(result)
    body = {"results": results, "accepted": counts["accepted"], "duplicates": counts["duplicate"],
            "rejected": counts["rejected"], "conflicts": counts["conflict"]}
    good = counts["accepted"] + counts["duplicate"]
    if good == len(outcomes):
        return 202, web.json_response(body, status=202)
    if good:
        return 207, web.json_response(body, status=207)
    detail = f"none of the {len(outcomes)} records was accepted; each result says why"
    return 422, problems.answer(422, "BATCH_REFUSED", detail,
                                {"status": "rejected", "reason": detail, "code": "BATCH_REFUSED", **body})


def error(problems: Problems, status: int, code: str, reason: str, headers: Mapping[str, str] | None = None
          ) -> web.Response:
    """A refusal of the request itself (no record involved): `status` "error", `reason` and `code`."""
    retry = RETRY_AFTER_S.get(status)
    merged = {**({"Retry-After": retry} if retry else {}), **(headers or {})}
    return problems.answer(status, code, reason, {"status": "error", "reason": reason, "code": code}, merged or None)


def unauthenticated(problems: Problems, reason: str, headers: Mapping[str, str]) -> web.Response:
    """401 with a challenge for each way in (RFC 9110 11.6.1), the error on the one the request tried."""
    lowered = {k.lower() for k in headers}
    tried_bearer = "authorization" in lowered
    tried_hmac = not tried_bearer and bool(lowered & {"x-drive-signature", "x-drive-agency"})
    bearer = f"Bearer {REALM}"
    if tried_bearer:
        kind = "invalid_request" if reason.startswith("Authorization must") else "invalid_token"
        bearer += f', error="{kind}", error_description="{_quoted(reason)}"'
    hmac = f"{HMAC_SCHEME} {REALM}, {SIGNATURE_HEADERS}"
    if tried_hmac:
        hmac += f', error="invalid_signature", error_description="{_quoted(reason)}"'
    challenges = CIMultiDict([("WWW-Authenticate", bearer), ("WWW-Authenticate", hmac)])
    return problems.answer(401, "UNAUTHENTICATED", reason,
                           {"status": "error", "reason": reason, "code": "UNAUTHENTICATED"}, challenges)


def _quoted(text: str) -> str:
    """Text for a quoted-string parameter: printable ASCII without quotes or backslashes."""
    return "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "?" for ch in text)
