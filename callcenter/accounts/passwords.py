"""Password hashing (scrypt) and the password policy. Pure: CPU only, no I/O.

Hashes are self-describing PHC strings, `$scrypt$ln=15,r=8,p=1$<salt>$<hash>`
(base64 without padding), so the cost can be raised later: `needs_rehash`
tells the login path to store a new hash while it holds the plain password.
scrypt is memory-hard (32 MiB at these parameters) and ships with Python's
`hashlib`, so there is no native dependency to build; see docs/decisions.md.

Hashing costs ~0.1 s of CPU: callers run it off the event loop
(`asyncio.to_thread`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass

from callcenter.kernel.errors import DomainError

SCHEME = "scrypt"
SALT_BYTES = 16
MAX_PASSWORD_CHARS = 1024  # a bound on the work an attacker can ask for, far above real use


@dataclass(frozen=True)
class ScryptParams:
    log_n: int = 15  # N = 2**15
    r: int = 8
    p: int = 1
    dklen: int = 32

    @property
    def n(self) -> int:
        return 1 << self.log_n

    @property
    def maxmem(self) -> int:
        # hashlib refuses anything above maxmem (default 32 MiB, exactly our need): leave room.
        return 2 * 128 * self.r * (self.n + self.p + 1)


DEFAULT_PARAMS = ScryptParams()


class PasswordPolicyError(DomainError, ValueError):
    """The new password breaks the policy; the message says which rule."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _normalise(password: str) -> bytes:
    # The same password typed on two keyboards/IMEs must hash the same (RFC 8265 uses NFC).
    return unicodedata.normalize("NFC", password).encode("utf-8")


def _derive(password: str, salt: bytes, params: ScryptParams) -> bytes:
    return hashlib.scrypt(
        _normalise(password),
        salt=salt,
        n=params.n,
        r=params.r,
        p=params.p,
        maxmem=params.maxmem,
        dklen=params.dklen,
    )


def hash_password(
    password: str, params: ScryptParams = DEFAULT_PARAMS, salt: bytes | None = None
) -> str:
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = _derive(password, salt, params)
    return f"${SCHEME}$ln={params.log_n},r={params.r},p={params.p}${_b64(salt)}${_b64(digest)}"


def parse_hash(encoded: str) -> tuple[ScryptParams, bytes, bytes] | None:
    """(params, salt, digest) of an encoded hash, or None when it is not one of ours."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != SCHEME:
        return None
    try:
        fields = dict(item.split("=", 1) for item in parts[2].split(","))
        salt, digest = _unb64(parts[3]), _unb64(parts[4])
        params = ScryptParams(
            log_n=int(fields["ln"]), r=int(fields["r"]), p=int(fields["p"]), dklen=len(digest)
        )
    except (ValueError, KeyError, binascii.Error):
        return None
    if not (1 <= params.log_n <= 24 and 1 <= params.r <= 64 and 1 <= params.p <= 16):
        return None  # not something we wrote; refuse rather than burn CPU or memory
    if not salt or not digest:
        return None
    return params, salt, digest


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time comparison of the derived key; a malformed hash never matches."""
    parsed = parse_hash(encoded)
    if parsed is None or len(password) > MAX_PASSWORD_CHARS:
        return False
    params, salt, digest = parsed
    return hmac.compare_digest(_derive(password, salt, params), digest)


def needs_rehash(encoded: str, params: ScryptParams = DEFAULT_PARAMS) -> bool:
    parsed = parse_hash(encoded)
    return parsed is None or parsed[0] != params


@functools.cache
def dummy_hash(params: ScryptParams = DEFAULT_PARAMS) -> str:
    """A hash nobody knows the password of: verifying against it for an unknown user
    takes as long as for a real one, so timing does not tell which usernames exist."""
    return hash_password(secrets.token_urlsafe(16), params)


def check_policy(password: str, username: str, min_length: int) -> None:
    """Raise PasswordPolicyError with a clear message when `password` is not acceptable."""
    if len(password) < min_length:
        raise PasswordPolicyError(
            "password-too-short", f"the password must have at least {min_length} characters"
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise PasswordPolicyError(
            "password-too-long", f"the password must have at most {MAX_PASSWORD_CHARS} characters"
        )
    if not password.strip():
        raise PasswordPolicyError("password-blank", "the password must not be only spaces")
    if password.strip().casefold() == username.strip().casefold():
        raise PasswordPolicyError(
            "password-is-username", "the password must not be the same as the username"
        )
    if len(set(password)) < 3:
        raise PasswordPolicyError(
            "password-too-simple", "the password must use at least three different characters"
        )
