"""OpenID Connect sign-in (production): authorization code flow with PKCE, state and nonce; the ID token checked
against the issuer's keys; the staff member found in the registry by a claim, never created from it."""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from consumers.ledger.directory import staff_by_email
from consumers.ledger.models import Staff
from runtime.settings import Settings

CALLBACK_PATH = "/sign-in/oidc/callback"
ALGORITHMS = ("RS256", "PS256", "ES256")
TIMEOUT = aiohttp.ClientTimeout(total=10)
LEEWAY_S = 60  # clock skew allowed between us and the identity provider


class OidcRefused(Exception):
    """Why an OpenID Connect sign-in was refused: a machine code (audited) for the person to be told about."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Challenge:
    """What the browser's session keeps between the redirect out and the callback."""

    state: str
    nonce: str
    verifier: str

    def as_dict(self) -> dict[str, str]:
        return {"state": self.state, "nonce": self.nonce, "verifier": self.verifier}


class OidcClient:
    """The identity provider as the web app uses it: discovery and keys fetched when first needed, then kept."""

    def __init__(self, settings: Settings) -> None:
        if not (settings.oidc_issuer and settings.oidc_client_id):
            raise ValueError("OpenID Connect needs DRIVE_OIDC_ISSUER and DRIVE_OIDC_CLIENT_ID")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
        self.scopes = settings.oidc_scopes
        self.redirect_uri = settings.resolved_web_base_url + CALLBACK_PATH
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    async def metadata(self) -> dict[str, Any]:
        """The issuer's discovery document (its issuer must be the one configured)."""
        if self._metadata is None:
            found = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise OidcRefused("ISSUER_MISMATCH")
            self._metadata = found
        return self._metadata

    async def authorization_url(self) -> tuple[str, Challenge]:
        """Where to send the browser, and the challenge to keep in its session."""
        challenge = Challenge(generate_token(32), generate_token(32), generate_token(64))
        url = prepare_grant_uri((await self.metadata())["authorization_endpoint"], self.client_id, "code",
                                redirect_uri=self.redirect_uri, scope=self.scopes, state=challenge.state,
                                nonce=challenge.nonce, code_challenge=create_s256_code_challenge(challenge.verifier),
                                code_challenge_method="S256")
        return str(url), challenge

    async def claims(self, query: Mapping[str, str], kept: Mapping[str, str] | None) -> dict[str, Any]:
        """The verified ID token claims of a callback (state, code, signature, issuer, audience, nonce, expiry)."""
        if "error" in query:
            raise OidcRefused("PROVIDER_ERROR")
        if not kept or not query.get("state") or query.get("state") != kept.get("state"):
            raise OidcRefused("BAD_STATE")
        code = query.get("code")
        if not code:
            raise OidcRefused("NO_CODE")
        tokens = await self._exchange(code, kept["verifier"])
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcRefused("NO_ID_TOKEN")
        return await self._verify(id_token, kept["nonce"])

    async def _exchange(self, code: str, verifier: str) -> dict[str, Any]:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "code_verifier": verifier, "client_id": self.client_id}
        auth = aiohttp.BasicAuth(self.client_id, self.secret) if self.secret else None
        endpoint = (await self.metadata())["token_endpoint"]
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as http, http.post(endpoint, data=form, auth=auth) as r:
                if r.status != 200:
                    raise OidcRefused("TOKEN_REFUSED")
                return dict(await r.json(content_type=None))
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise OidcRefused("PROVIDER_UNREACHABLE") from None

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            self._keys = KeySet.import_key_set(await self._get_json((await self.metadata())["jwks_uri"]))
        return self._keys

    async def _verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(), algorithms=list(ALGORITHMS))
            except JoseError:  # the provider may have rotated its keys since they were fetched: once more, fresh
                token = jwt.decode(id_token, await self._key_set(refresh=True), algorithms=list(ALGORITHMS))
            jwt.JWTClaimsRegistry(now=lambda: int(time.time()), leeway=LEEWAY_S,
                                  iss={"essential": True, "value": self.issuer},
                                  aud={"essential": True, "value": self.client_id},
                                  nonce={"essential": True, "value": nonce},
                                  exp={"essential": True}).validate(token.claims)
        except JoseError:
            raise OidcRefused("BAD_ID_TOKEN") from None
        return dict(token.claims)

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as http, http.get(url) as answer:
                if answer.status != 200:
                    raise OidcRefused("PROVIDER_UNREACHABLE")
                return dict(await answer.json(content_type=None))
        except (aiohttp.ClientError, TimeoutError, ValueError):
            raise OidcRefused("PROVIDER_UNREACHABLE") from None


def staff_for(db: Session, claims: Mapping[str, Any], claim: str) -> Staff | None:
    """The active registered staff member the claims name: by e-mail (not one the provider says is unverified) or by
    staff id; None for anyone else (never created from the token)."""
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip():
        return None
    if claim == "email":
        if claims.get("email_verified") is False:
            return None
        staff = staff_by_email(db, value)
    else:
        staff = db.get(Staff, value.strip())
    return staff if staff is not None and staff.active else None
