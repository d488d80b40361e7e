"""The fake OAuth token endpoint: checks a service account's JWT assertion the way Google does.

google-auth signs an RS256 JWT with the key file's private key and posts it to the key file's
`token_uri`; only the public half lives here, so a test proves the real library signed it.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth always signs this audience, whatever the key file's token_uri says.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
_SKEW = 300


class TokenError(Exception):
    """An OAuth error answer: {"error": ..., "error_description": ...}."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


@dataclass(frozen=True)
class Grant:
    email: str
    subject: str | None
    scopes: tuple[str, ...]


@dataclass
class TokenIssuer:
    token_uri: str
    keys: dict[str, tuple[str, rsa.RSAPublicKey]]  # key id -> (client_email, public key)
    delegation: set[str] = field(default_factory=set)  # users the account may impersonate
    claims_seen: list[dict] = field(default_factory=list)
    tokens: dict[str, Grant] = field(default_factory=dict)

    def exchange(self, form: dict[str, str]) -> dict:
        if form.get("grant_type") != JWT_GRANT:
            raise TokenError(400, "unsupported_grant_type", "Invalid grant_type.")
        header, claims = self._verified(form.get("assertion", ""))
        email = self.keys[header["kid"]][0]
        self._check_claims(claims, email)
        self.claims_seen.append(claims)
        subject = claims.get("sub")
        if subject and subject != email and subject not in self.delegation:
            raise TokenError(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve "
                "access tokens using this method, or client not authorized for any "
                "of the scopes requested.",
            )
        token = "ya29.fake-" + secrets.token_urlsafe(32)
        scopes = tuple(str(claims.get("scope", "")).split())
        self.tokens[token] = Grant(email, subject if subject != email else None, scopes)
        return {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _verified(self, assertion: str) -> tuple[dict, dict]:
        try:
            head_b64, claims_b64, sig_b64 = assertion.split(".")
            header, claims = json.loads(_unb64(head_b64)), json.loads(_unb64(claims_b64))
            signature = _unb64(sig_b64)
        except (ValueError, binascii.Error):
            raise TokenError(400, "invalid_grant", "Invalid JWT: malformed assertion.") from None
        if header.get("alg") != "RS256" or header.get("kid") not in self.keys:
            raise TokenError(400, "invalid_grant", "Invalid JWT Signature.")
        public_key = self.keys[header["kid"]][1]
        try:
            signed = f"{head_b64}.{claims_b64}".encode()
            public_key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            raise TokenError(400, "invalid_grant", "Invalid JWT Signature.") from None
        return header, claims

    def _check_claims(self, claims: dict, email: str) -> None:
        now = time.time()
        iat, exp = claims.get("iat", 0), claims.get("exp", 0)
        if claims.get("iss") != email:
            raise TokenError(400, "invalid_grant", "Invalid JWT: iss is not the key's account.")
        if claims.get("aud") not in (GOOGLE_TOKEN_AUDIENCE, self.token_uri):
            raise TokenError(400, "invalid_grant", "Invalid JWT: aud is not the token endpoint.")
        if not (iat - _SKEW <= now < exp + _SKEW and 0 < exp - iat <= 3600):
            raise TokenError(
                400,
                "invalid_grant",
                "Invalid JWT: Token must be a short-lived "
                "token (60 minutes) and in a reasonable timeframe.",
            )
        if not str(claims.get("scope", "")).strip():
            raise TokenError(
                400, "invalid_scope", "Invalid OAuth scope or ID token audience provided."
            )

    def grant_for(self, authorization: str | None) -> Grant | None:
        kind, _, token = (authorization or "").partition(" ")
        return self.tokens.get(token) if kind.lower() == "bearer" else None


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
