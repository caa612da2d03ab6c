"""A request's offer or changes read part by part, so that all its problems come together.

A part that cannot be read (a missing time, an action that is neither boost nor pin, a bad
target) is left out and its problem kept; the checks of the whole offer and of the catalog
then add theirs, and the caller raises them all at once (recsys.offers.model.raise_all).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from recsys.offers.model import OfferDraft, OfferProblem, Status, raise_all
from serving._proto.recsys.v1 import offers_pb2 as pb
from serving.offers.protos import (
    SETTERS,
    TARGET_FIELDS,
    action_from_pb,
    cap_from_pb,
    status_from_pb,
    target_from_pb,
    target_values_from_pb,
    time_from_pb,
    volume_from_pb,
)

T = TypeVar("T")


def draft_from_pb(m: pb.Offer) -> OfferDraft:
    """A CreateOffer request's offer read part by part (status UNSPECIFIED = draft).

    A part that cannot be read is left out of the values and its problem kept, so that the
    checks of the whole offer and of the catalog can still report theirs with it.
    """
    problems: list[OfferProblem] = []
    values: dict[str, Any] = {
        "name": m.name,
        "product_id": m.product_id,
        "channels": tuple(m.channels),
        "max_share": m.max_share if m.HasField("max_share") else 1.0,
        "volume_cap": m.volume_cap if m.HasField("volume_cap") else None,
        "priority": m.priority,
    }
    parts: dict[str, Callable[[], Any]] = {
        "target": lambda: target_from_pb(m.target),
        "start_at": lambda: time_from_pb(m, "start_time"),
        "end_at": lambda: time_from_pb(m, "end_time"),
        "cap": lambda: cap_from_pb(m),
        "volume_event": lambda: volume_from_pb(m.volume_event),
        "status": lambda: _new_status(m.status),
    }
    for name, read in parts.items():
        _read_into(values, name, read, problems)
    action = _read(lambda: action_from_pb(m), problems)
    if action is not None:
        values.update(action)
    return OfferDraft(values, tuple(problems), segments=tuple(m.target.segments))


def _new_status(value: int) -> Status:
    return Status.draft if value == pb.OFFER_STATUS_UNSPECIFIED else status_from_pb(value)


def _read(read: Callable[[], T], problems: list[OfferProblem]) -> T | None:
    """read(), or None with its problems added to `problems`."""
    try:
        return read()
    except OfferProblem as exc:
        problems.extend(exc.each)
        return None


def _read_into(
    values: dict[str, Any], name: str, read: Callable[[], Any], problems: list[OfferProblem]
) -> None:
    before = len(problems)
    value = _read(read, problems)
    if len(problems) == before:
        values[name] = value


def changes_from_pb(m: pb.Offer, paths: Iterable[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Offer field changes, Target field changes) of the update-mask `paths`.

    Every path is read; the problems of all of them are raised together.
    """
    changes: dict[str, Any] = {}
    target: dict[str, Any] = {}
    problems: list[OfferProblem] = []
    for path in paths:
        if path.startswith("target."):
            name = path.removeprefix("target.")
            if name not in TARGET_FIELDS:
                problems.append(OfferProblem("update_mask", f"unknown path {path!r}"))
                continue
            field = TARGET_FIELDS[name]
            target[field] = target_values_from_pb(m.target)[field]
        elif path in SETTERS:
            found = _read(lambda p=path: SETTERS[p](m), problems)
            changes.update(found or {})
        else:
            known = sorted([*SETTERS, *(f"target.{f}" for f in TARGET_FIELDS)])
            problem = f"unknown or output-only path {path!r}; known: {known}"
            problems.append(OfferProblem("update_mask", problem))
    raise_all(problems)
    return changes, target
