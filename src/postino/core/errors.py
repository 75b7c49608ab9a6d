"""Domain errors. Dialects catch these and render them in their own words and codes."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule violation; ``code`` is stable, ``message`` is readable."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None, index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.index = index


class NotFound(DomainError):
    code = "not_found"


class InvalidInput(DomainError):
    code = "invalid"


class AuthError(DomainError):
    code = "auth"


class Forbidden(DomainError):
    code = "forbidden"


class InsufficientCredit(DomainError):
    code = "credit"


class CreditExpired(DomainError):
    code = "credit_expired"


class Conflict(DomainError):
    code = "conflict"


class NoRoute(DomainError):
    code = "no_route"


class RateLimited(DomainError):
    code = "rate_limited"


class OptedOut(DomainError):
    """A single send to a number on the account's opt-out list, refused by ``optout_policy`` ``all``."""

    code = "opted_out"
