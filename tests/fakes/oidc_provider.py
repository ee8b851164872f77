"""An OpenID Connect provider on loopback for the tests: discovery, an authorize endpoint that signs the configured
person in at once, a token endpoint checking the client secret and PKCE, and its keys; ID tokens signed RS256."""
from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID, CLIENT_SECRET = "drive-alerts-web", "test-oidc-client-secret"


@dataclass
class FakeProvider:
    """The provider's state: who signs in next, what it issued, and how to misbehave."""

    claims: dict[str, Any] = field(default_factory=lambda: {"sub": "idp-user-1", "email": "nobody@example.org"})
    audience: str = CLIENT_ID
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    server: TestServer | None = None

    @property
    def issuer(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def discovery(self, _request: web.Request) -> web.Response:
        return web.json_response({"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                                  "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks"})

    async def authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != CLIENT_ID or q.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="bad request")
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": q["nonce"], "challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"]}
        raise web.HTTPFound(f"{q['redirect_uri']}?code={code}&state={q['state']}")

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        grant = self.codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if (request.headers.get("Authorization") != expected or grant is None or challenge != grant["challenge"]
                or form.get("redirect_uri") != grant["redirect_uri"]):
            return web.json_response({"error": "invalid_grant"}, status=400)
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.audience, "iat": now, "exp": now + 300, "nonce": grant["nonce"],
                  **self.claims}
        return web.json_response({"access_token": "at", "token_type": "Bearer",
                                  "id_token": jwt.encode({"alg": "RS256", "kid": "k1"}, claims, self.key)})

    async def jwks(self, _request: web.Request) -> web.Response:
        return web.json_response(KeySet([self.key]).as_dict(private=False))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.discovery)
        app.router.add_get("/authorize", self.authorize)
        app.router.add_post("/token", self.token)
        app.router.add_get("/jwks", self.jwks)
        return app
