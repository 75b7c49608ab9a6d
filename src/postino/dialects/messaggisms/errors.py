"""The provider's error codes, and the one exception every route raises to answer with one.

Codes the provider documents keep its numbers (201, 202, 203, 210-212, 217-221, 302);
the others are Postino's, chosen outside the provider's ranges and listed in the docs.
"""

from __future__ import annotations

from ...core import errors as core_errors

# The provider's own codes.
NOT_ENOUGH_CREDIT = 201
INVALID_ID = 202
NOT_FOUND = 203
PUT_INVALID_ID = 210
PUT_NOT_FOUND = 211
TRANSACTION_CLOSED = 212
DELETE_ID_REQUIRED = 217
DELETE_INVALID_ID = 218
DELETE_NOT_FOUND = 219
ALREADY_SCHEDULED = 221
MISSING_PARAMETER = 302

# Postino's codes for answers the provider does not number.
UNAUTHORIZED = 100
FORBIDDEN = 101
ALREADY_HANDED = 213
REALTIME_LIMIT = 230
INVALID_BODY = 300
INVALID_PARAMETER = 303
NO_VALID_RECIPIENT = 304
NO_ROUTE = 305
TOKEN_NOT_FOUND = 240
TOKEN_INVALID_ID = 241


class ApiError(Exception):
    """An answer with ``success: false``: HTTP status, the envelope's ``error`` code, a readable message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def from_domain(exc: core_errors.DomainError) -> ApiError:
    """Core's verdicts in this dialect's words, for the errors no route handles itself."""
    if isinstance(exc, core_errors.AuthError):
        return ApiError(401, UNAUTHORIZED, exc.message)
    if isinstance(exc, core_errors.Forbidden):
        return ApiError(403, FORBIDDEN, exc.message)
    if isinstance(exc, (core_errors.InsufficientCredit, core_errors.CreditExpired)):
        return ApiError(402, NOT_ENOUGH_CREDIT, exc.message)
    if isinstance(exc, core_errors.RateLimited):
        return ApiError(429, REALTIME_LIMIT, exc.message)
    if isinstance(exc, core_errors.NoRoute):
        return ApiError(422, NO_ROUTE, exc.message)
    if isinstance(exc, core_errors.NotFound):
        return ApiError(404, NOT_FOUND, "No message found")
    return ApiError(422, INVALID_PARAMETER, exc.message)
