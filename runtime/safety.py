"""Production safety from settings alone: development and placeholder secrets refused, unknown DRIVE_* names found."""
from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from runtime.settings import (
    DEV_ACK_LINK_SECRET,
    DEV_DEAD_LETTER_KEY,
    DEV_NAME_HASH_KEY,
    DEV_WEB_SESSION_SECRET,
    Settings,
)

PREFIX = "DRIVE_"
PLACEHOLDER = "change-me"  # the marker of every template value (.env.example, secret.example.yaml)
MIN_KEY_LENGTH = 32
# Keys this program owns: a public default is a known key, and a short one is guessable.
OWN_KEYS = {"name_hash_key": DEV_NAME_HASH_KEY, "ack_link_secret": DEV_ACK_LINK_SECRET,
            "dead_letter_key": DEV_DEAD_LETTER_KEY, "web_session_secret": DEV_WEB_SESSION_SECRET}
NEW_KEY_HINT = 'e.g. python -c "import secrets; print(secrets.token_urlsafe(48))"'
# DRIVE_TEST_* belong to the test suite (external Kafka / PostgreSQL for the tests), not to a process.
RESERVED_PREFIXES = ("DRIVE_TEST_",)


def env_name(field: str) -> str:
    """The environment variable of a Settings field."""
    return f"{PREFIX}{field.upper()}"


@dataclass(frozen=True)
class Refusal:
    """One reason not to start: which setting, what is wrong with it, and what to do."""

    setting: str  # the DRIVE_* variable (or the file or folder it names)
    problem: str
    action: str

    def line(self) -> str:
        """The one line printed for it."""
        return f"{self.setting} {self.problem}: {self.action}"


def secret_refusals(settings: Settings) -> list[Refusal]:
    """Development defaults, template placeholders and short keys among the settings (never the value itself)."""
    refusals = []
    for field, default in OWN_KEYS.items():
        value = _text(getattr(settings, field))
        name = env_name(field)
        if value == default:
            refusals.append(Refusal(name, "is the public development default",
                                    f"set it to a random secret of {MIN_KEY_LENGTH}+ characters ({NEW_KEY_HINT})"))
        elif PLACEHOLDER not in value.lower() and len(value) < MIN_KEY_LENGTH:
            refusals.append(Refusal(name, f"is only {len(value)} characters long",
                                    f"use a random secret of {MIN_KEY_LENGTH}+ characters ({NEW_KEY_HINT})"))
    for field in Settings.model_fields:
        value = getattr(settings, field)
        if value is None or env_name(field) in {r.setting for r in refusals}:
            continue
        if PLACEHOLDER in _text(value).lower():
            refusals.append(Refusal(env_name(field), "still holds a CHANGE-ME placeholder",
                                    "replace it with the real value (from your secret store)"))
    return refusals


def weak_shared_secrets(named: Iterable[tuple[str, str]], env: Mapping[str, str] = os.environ) -> list[Refusal]:
    """Secrets shared with others (an agency's HMAC key: variable, whose) that are set but still a placeholder or
    too short; an unset one only disables that key. Never the value itself."""
    refusals = []
    for variable, whose in named:
        value = env.get(variable, "")
        if not value:
            continue
        if PLACEHOLDER in value.lower():
            refusals.append(Refusal(variable, f"({whose}) still holds a CHANGE-ME placeholder",
                                    "replace it with the secret shared with them (from your secret store)"))
        elif len(value) < MIN_KEY_LENGTH:
            refusals.append(Refusal(variable, f"({whose}) is only {len(value)} characters long",
                                    f"share a random secret of {MIN_KEY_LENGTH}+ characters with them ({NEW_KEY_HINT})"))
    return refusals


def _text(value: object) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def unknown_variables(environ: Mapping[str, str], also_known: Iterable[str] = ()) -> list[str]:
    """One warning per DRIVE_* variable that is no setting (a typo is otherwise silently ignored)."""
    settings_names = [env_name(field) for field in Settings.model_fields]
    known = set(settings_names) | {name.upper() for name in also_known}
    warnings = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in known or upper.startswith(RESERVED_PREFIXES):
            continue
        close = difflib.get_close_matches(upper, settings_names, n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"{name} is not a setting{hint}; it is ignored (`drive-alerts settings` lists them all)")
    return warnings


def web_sign_in_refusals(settings: Settings) -> list[Refusal]:
    """OpenID Connect asked for (or an issuer given) without what the flow needs."""
    if not settings.uses_oidc:
        return []
    refusals = [Refusal(env_name(f), "is unset, but the web app signs staff in with OpenID Connect",
                        "set it to what your identity provider registered for this app")
                for f in ("oidc_issuer", "oidc_client_id") if not getattr(settings, f)]
    if "openid" not in settings.oidc_scopes.split():
        refusals.append(Refusal(env_name("oidc_scopes"), "does not ask for the openid scope",
                                'include "openid", e.g. "openid email profile"'))
    return refusals


def web_production_refusals(settings: Settings) -> list[Refusal]:
    """In production the web app signs staff in with the identity provider, over https, with Secure cookies."""
    if not settings.uses_oidc:
        return [Refusal(env_name("oidc_issuer"), "is unset, so staff would sign in to the web app with one-time codes",
                        "set DRIVE_OIDC_ISSUER, DRIVE_OIDC_CLIENT_ID and DRIVE_OIDC_CLIENT_SECRET to your identity "
                        "provider's")]
    refusals = []
    if settings.oidc_issuer and not settings.oidc_issuer.startswith("https://"):
        refusals.append(Refusal(env_name("oidc_issuer"), "is not an https URL", "use the provider's https issuer"))
    if not settings.resolved_web_base_url.startswith("https://"):
        refusals.append(Refusal(env_name("web_base_url"), "is not an https URL, so session cookies would travel "
                                                          "unencrypted", "set it to the web app's public https URL"))
    return refusals
