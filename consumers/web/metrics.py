"""Prometheus metrics of the staff web app; labels never carry a staff id or anything typed."""
from __future__ import annotations

from prometheus_client import Counter

REQUESTS = Counter("drive_web_requests_total", "Web app responses, by status class (2xx, 3xx, 4xx, 5xx).", ["status"])
SIGN_INS = Counter("drive_web_sign_ins_total", "Web app sign-in outcomes, by kind (CODE, OIDC) and status (OK or the "
                   "refusal reason).", ["kind", "status"])
ACKS = Counter("drive_web_acknowledgements_total", "Acknowledgements made in the web app, by outcome status.",
               ["status"])
