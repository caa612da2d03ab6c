"""Request checks at the service boundary: limits, ids, channels, event types -> ValidationError.

Every message starts with the field it is about (`events[3].type: ...`), so a channel
developer can fix the call from the error alone.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Collection, Mapping, Sequence

# re-exported: the limits are configured in Settings.limits (RECSYS_LIMITS__MAX_K=...)
from recsys.settings import RequestLimits as RequestLimits

# C0/C1 control characters (NUL included): no id carries them, PostgreSQL text cannot hold NUL,
# and they garble logs
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
SHOWN_CHARS = 40  # how much of a bad value an error message echoes (status details are small)


class ValidationError(ValueError):
    """A request value is invalid; `field` names it (e.g. `events[3].type`)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def shown(value: str) -> str:
    """`value` quoted for an error message, cut to SHOWN_CHARS (a client may send megabytes)."""
    return repr(value) if len(value) <= SHOWN_CHARS else f"{value[:SHOWN_CHARS]!r}..."


def check_id(value: str, field: str, limits: RequestLimits) -> str:
    """A non-empty id no longer than the limit, without surrounding whitespace or controls."""
    if not value:
        raise ValidationError(field, "must not be empty")
    if len(value) > limits.max_id_length:
        raise ValidationError(
            field, f"is {len(value)} characters long; at most {limits.max_id_length} allowed"
        )
    if value != value.strip():
        raise ValidationError(field, f"has leading or trailing whitespace: {shown(value)}")
    # isprintable() is the fast path: C speed, and True rules out every control character
    if not value.isprintable() and _CONTROL.search(value):
        raise ValidationError(field, f"contains control characters: {shown(value)}")
    return value


def check_optional_id(value: str, field: str, limits: RequestLimits) -> str | None:
    """None for an empty optional id (request_id, offer_id), else a checked id."""
    return check_id(value, field, limits) if value else None


def request_id_or_new(value: str, limits: RequestLimits) -> str:
    """The caller's request id (checked), or a fresh random 32-hex-digit one when empty."""
    # 128 random bits from the per-process generator (seeded from os.urandom): unique like a
    # uuid4, without a getrandom() system call per request (it lets go of the GIL)
    return check_id(value, "request_id", limits) if value else f"{random.getrandbits(128):032x}"


def check_channel(channel: str, channels: Collection[str], field: str = "channel") -> str:
    """A configured channel."""
    if not channel:
        raise ValidationError(field, f"must not be empty; one of {sorted(channels)}")
    if channel not in channels:
        raise ValidationError(field, f"unknown channel {shown(channel)}; one of {sorted(channels)}")
    return channel


def check_event_type(event: str, event_types: Collection[str], field: str) -> str:
    """A configured event type."""
    if not event:
        raise ValidationError(field, f"must not be empty; one of {list(event_types)}")
    if event not in event_types:
        raise ValidationError(
            field, f"unknown event type {shown(event)}; one of {list(event_types)}"
        )
    return event


def check_k(k: int, default_k: int, limits: RequestLimits, field: str = "k") -> int:
    """k in 1..max_k; 0 means `default_k`."""
    if k == 0:
        return default_k
    if not 1 <= k <= limits.max_k:
        raise ValidationError(field, f"must be 1..{limits.max_k} (0 = default), got {k}")
    return k


def check_ids(values: Sequence[str], field: str, limit: int, limits: RequestLimits) -> list[str]:
    """A bounded list of ids, each checked (`field[i]` in messages)."""
    if len(values) > limit:
        raise ValidationError(field, f"has {len(values)} entries; at most {limit} allowed")
    return [check_id(v, f"{field}[{i}]", limits) for i, v in enumerate(values)]


def check_batch(customer_ids: Sequence[str], limits: RequestLimits) -> list[str]:
    """A non-empty, bounded list of customer ids."""
    if not customer_ids:
        raise ValidationError("customer_ids", "must not be empty")
    return check_ids(customer_ids, "customer_ids", limits.max_batch, limits)


def check_batch_items(n_customers: int, k: int, limits: RequestLimits) -> None:
    """At most max_batch_items items in one batch answer (customers x k)."""
    if n_customers * k > limits.max_batch_items:
        raise ValidationError(
            "customer_ids",
            f"{n_customers} customers x k={k} is {n_customers * k} items; at most "
            f"{limits.max_batch_items} per call (send fewer customers or a smaller k)",
        )


def check_exclude(product_ids: Sequence[str], limits: RequestLimits) -> list[str]:
    """A bounded list of product ids to leave out."""
    return check_ids(product_ids, "exclude_product_ids", limits.max_exclude, limits)


def check_context(context: Mapping[str, str], limits: RequestLimits) -> dict[str, str] | None:
    """None when empty, else a bounded copy (which keys mean what is the profile's job)."""
    if not context:
        return None
    if len(context) > limits.max_context_entries:
        raise ValidationError(
            "context",
            f"has {len(context)} entries; at most {limits.max_context_entries} allowed",
        )
    for key, value in context.items():
        if not key or len(key) > limits.max_context_key_length:
            raise ValidationError(
                "context", f"key {shown(key)} must be 1..{limits.max_context_key_length} characters"
            )
        if len(value) > limits.max_context_value_length:
            raise ValidationError(
                f"context[{shown(key)}]",
                f"value is {len(value)} characters; at most {limits.max_context_value_length}",
            )
    return dict(context)


def check_event_count(n: int, limits: RequestLimits) -> None:
    """Between 1 and max_events events in one call."""
    if n == 0:
        raise ValidationError("events", "must not be empty")
    if n > limits.max_events:
        raise ValidationError("events", f"has {n} entries; at most {limits.max_events} allowed")


def check_amount(amount: float | None, field: str) -> float | None:
    """A finite amount, or None."""
    if amount is not None and not math.isfinite(amount):
        raise ValidationError(field, f"must be a finite number, got {amount}")
    return amount
