"""Which Drive failures are worth retrying, and how long to keep at it.

Our own loop rather than the client's `num_retries`: that one cannot bound the total time, cannot
be made fast in tests, and does not resume a resumable upload after a dropped connection.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger("upload")
T = TypeVar("T")
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: the n-th wait is in [d/2, d), d = initial * 2**(n-1).

    A call (or one chunk of a resumable upload) is given up after `max_attempts` tries or once
    `max_elapsed` seconds have passed since its first try, whichever comes first.
    """

    max_attempts: int = 8
    initial_delay: float = 1.0
    max_delay: float = 32.0
    max_elapsed: float = 300.0
    sleep: Callable[[float], None] = time.sleep
    rand: Callable[[], float] = random.random


class DriveRetryError(RuntimeError):
    """Drive kept failing transiently past the retry budget (an outage, not bad input)."""


def http_error_parts(err) -> tuple[int, str, str]:
    """(status, reason, message) of a googleapiclient HttpError, from Google's JSON body."""
    status, reason, message = int(err.resp.status), "", ""
    try:
        error = json.loads(err.content.decode("utf-8"))["error"]
        message = str(error.get("message", ""))
        reason = str((error.get("errors") or [{}])[0].get("reason", "") or error.get("status", ""))
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        pass
    return status, reason, " ".join(message.split())[:300]


def is_transient(exc: BaseException) -> bool:
    from google.auth import exceptions as auth_errors
    from googleapiclient.errors import HttpError
    from httplib2 import HttpLib2Error

    if isinstance(exc, HttpError):
        status, reason, _ = http_error_parts(exc)
        return (
            status in (408, 429)
            or status >= 500
            or (status == 403 and reason in RATE_LIMIT_REASONS)
        )
    if isinstance(exc, auth_errors.RefreshError):
        return bool(getattr(exc, "retryable", False))
    # Dropped connections, resets, timeouts, TLS EOFs (ssl.SSLError is an OSError), DNS.
    return isinstance(
        exc, OSError | http.client.HTTPException | HttpLib2Error | auth_errors.TransportError
    )


def describe(exc: BaseException) -> str:
    """A short, secret-free description (never str() of transport errors: URLs can hold
    upload session ids)."""
    from googleapiclient.errors import HttpError

    if isinstance(exc, HttpError):
        status, reason, _ = http_error_parts(exc)
        return f"HTTP {status} {reason}".rstrip()
    return type(exc).__name__


def retry_after(exc: BaseException) -> float:
    resp = getattr(exc, "resp", None)
    try:
        return float(resp.get("retry-after", 0)) if resp is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def call_with_retry(fn: Callable[[], T], what: str, policy: RetryPolicy) -> T:
    """Runs fn, retrying transient failures; anything else propagates at once."""
    start, attempt = time.monotonic(), 0
    while True:
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc):
                raise
            attempt += 1
            backoff = min(policy.max_delay, policy.initial_delay * 2 ** (attempt - 1))
            delay = max(
                backoff * (0.5 + policy.rand() / 2), min(retry_after(exc), policy.max_delay)
            )
            elapsed = time.monotonic() - start
            if attempt >= policy.max_attempts or elapsed + delay > policy.max_elapsed:
                raise DriveRetryError(
                    f"{what}: Drive still failing after {attempt} attempts in {elapsed:.0f}s "
                    f"({describe(exc)}); try again later"
                ) from None
            log.warning(
                "%s: %s, retry %d/%d in %.1fs",
                what,
                describe(exc),
                attempt,
                policy.max_attempts - 1,
                delay,
            )
            policy.sleep(delay)
