"""Random secrets and how they are stored: SHA-256 of a high-entropy value.

Tokens and keys carry 128+ bits of randomness, so a fast hash is safe and lets a request
find its credential by an indexed lookup. Passwords, chosen by people, use argon2
(``accounts.py``).
"""

from __future__ import annotations

import hashlib
import secrets as _secrets
import string

_URLSAFE = string.ascii_letters + string.digits + "-_"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def token_hex(nbytes: int = 16) -> str:
    return _secrets.token_hex(nbytes)


def token_urlsafe_chars(length: int = 21) -> str:
    """A random string of exactly ``length`` URL-safe characters (the app's id shape)."""
    return "".join(_secrets.choice(_URLSAFE) for _ in range(length))


def digits(length: int = 6) -> str:
    return "".join(_secrets.choice(string.digits) for _ in range(length))
