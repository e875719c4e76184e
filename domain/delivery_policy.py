"""When to try a reply again after WeCom could not take it, and when to stop trying.

A short outage, a rate limit or a busy answer from WeCom delays a reply; it does not lose it.
The waits grow so that a long outage costs few calls, and a reply that could not be delivered
for long is given up on, because by then it answers a question nobody is waiting for.
"""

from __future__ import annotations

FIRST_RETRY_SECONDS = 5.0
LONGEST_WAIT_SECONDS = 300.0


def retry_delay(postponements: int, jitter: float) -> float:
    """Seconds to wait after the `postponements`-th postponement. `jitter` in [0, 1) spreads
    the retries of many replies so they do not hit WeCom together when it comes back."""
    base = min(LONGEST_WAIT_SECONDS, FIRST_RETRY_SECONDS * 2 ** min(postponements, 16))
    return base * (1 + 0.25 * jitter)


def should_give_up(received_at: float, now: float, give_up_after_seconds: float) -> bool:
    return now - received_at >= give_up_after_seconds
