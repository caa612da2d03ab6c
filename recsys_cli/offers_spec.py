"""`recsys offers create/update` input -> an Offer message and its update-mask paths.

The input is a spec: option values and/or the keys of an `--from-file` YAML (the options'
names with `_` for `-`, e.g. `age_min`, `customers_file`); options win over the file.
Only what the spec names is sent (and, for update, changed). The server checks the rest.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import yaml

from recsys.columns import Columns as C
from recsys.offers.model import FrequencyCap, OfferProblem, split_list
from serving._proto.recsys.v1 import offers_pb2 as pb

NONE_WORDS: Final = frozenset({"none", "off", ""})  # `--cap none` removes a cap (update)
ALIASES: Final = {"product_id": "product"}


class SpecError(ValueError):
    """A bad option or file value; `option` names it (`--start`, `offer.yaml: key 'x'`)."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"{option}: {problem}")
        self.option = option

    @property
    def each(self) -> tuple[SpecError, ...]:
        """The single errors this one reports: itself."""
        return (self,)


class SpecErrors(SpecError):
    """Several bad values of one command, reported together (one per line)."""

    def __init__(self, errors: list[SpecError]) -> None:
        self._each = tuple(errors)
        ValueError.__init__(self, "\n".join(str(e) for e in errors))
        self.option = errors[0].option

    @property
    def each(self) -> tuple[SpecError, ...]:
        """The single errors, in option order."""
        return self._each


def raise_errors(errors: list[SpecError]) -> None:
    """Raise the errors, if any: one as itself, several as SpecErrors."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise SpecErrors(errors)


def option(key: str) -> str:
    """The command-line option of a spec key (`age_min` -> `--age-min`)."""
    return "--" + key.replace("_", "-")


def to_offer(spec: dict[str, Any]) -> tuple[pb.Offer, list[str]]:
    """The Offer message the spec describes and the mask paths of what it sets, in order.

    Every bad value is reported, together (SpecErrors when there are several).
    """
    message = pb.Offer()
    paths: list[str] = []
    errors: list[SpecError] = []
    if spec.get("boost") is not None and spec.get("pin") is not None:
        errors.append(SpecError("--boost/--pin", "give a boost factor or a pin position, not both"))
    for key, value in spec.items():
        if value is None:
            continue
        path, setter = _FIELDS[key]
        try:
            setter(message, value)
        except OfferProblem as exc:
            errors += [SpecError(option(key), p.problem) for p in exc.each]
        except (TypeError, ValueError) as exc:
            errors.append(SpecError(option(key), f"bad value {value!r}: {exc}"))
        if path not in paths:
            paths.append(path)
    raise_errors(errors)
    return message, paths


def load_file(path: Path) -> dict[str, Any]:
    """The spec in a YAML file; a relative customers_file is read next to it."""
    where = f"--from-file {path}"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(where, f"cannot read it: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(where, f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(where, "expected a mapping of option names to values")
    spec: dict[str, Any] = {}
    unknown = []
    for raw, value in data.items():
        key = ALIASES.get(str(raw).replace("-", "_"), str(raw).replace("-", "_"))
        if key not in _FIELDS:
            unknown.append(repr(raw))
        spec[key] = value
    if unknown:
        known = ", ".join(sorted(_FIELDS))
        raise SpecError(where, f"unknown key(s) {', '.join(unknown)}; known keys: {known}")
    if spec.get("customers_file") is not None:
        spec["customers_file"] = path.parent / Path(str(spec["customers_file"]))
    return spec


def read_customers(path: Path) -> list[str]:
    """Customer ids from a file: one per line, or a CSV with a customer_id column."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if any(cell.strip() for cell in r)]
    except OSError as exc:
        raise OfferProblem("customers_file", f"cannot read {path}: {exc.strerror or exc}") from exc
    if not rows:
        raise OfferProblem("customers_file", f"{path} holds no customer ids")
    header = [cell.strip() for cell in rows[0]]
    if C.customer_id in header:
        col = header.index(C.customer_id)
        ids = [r[col].strip() for r in rows[1:] if col < len(r) and r[col].strip()]
    elif len(header) == 1:
        ids = [r[0].strip() for r in rows if r and r[0].strip()]
    else:
        raise OfferProblem(
            "customers_file", f"{path}: a CSV needs a {C.customer_id} column, got {header}"
        )
    return list(dict.fromkeys(ids))


def parse_time(value: Any) -> datetime:
    """An ISO date or time (or a YAML date/datetime) as UTC; no offset means UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise OfferProblem(
                "time",
                f"expected an ISO date or time (2025-03-01, 2025-03-01T08:00Z), got {value!r}",
            ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _time(field: str) -> Callable[[pb.Offer, Any], None]:
    def setter(m: pb.Offer, value: Any) -> None:
        getattr(m, field).FromDatetime(parse_time(value))

    return setter


def _target_list(field: str) -> Callable[[pb.Offer, Any], None]:
    def setter(m: pb.Offer, value: Any) -> None:
        getattr(m.target, field).extend(split_list(value))

    return setter


def _target_int(field: str) -> Callable[[pb.Offer, Any], None]:
    def setter(m: pb.Offer, value: Any) -> None:
        setattr(m.target, field, int(value))

    return setter


def _customers(m: pb.Offer, value: Any) -> None:
    m.target.has_customer_list = True
    m.target.customer_ids.extend(read_customers(Path(str(value))))


def _cap(m: pb.Offer, value: Any) -> None:
    if str(value).strip().lower() in NONE_WORDS:
        return  # named in the mask, left unset: the cap is removed
    cap = FrequencyCap.parse(str(value))
    m.cap.CopyFrom(pb.FrequencyCap(impressions=cap.impressions, days=cap.days))


def _volume_event(m: pb.Offer, value: Any) -> None:
    events = {"impression": pb.VOLUME_EVENT_IMPRESSION, "purchase": pb.VOLUME_EVENT_PURCHASE}
    if str(value) not in events:
        raise OfferProblem("volume_event", f"must be impression or purchase, got {value!r}")
    m.volume_event = events[str(value)]


def _status(m: pb.Offer, draft: Any) -> None:
    m.status = pb.OFFER_STATUS_DRAFT if draft else pb.OFFER_STATUS_ACTIVE


def _set(field: str, kind: Callable[[Any], Any]) -> Callable[[pb.Offer, Any], None]:
    def setter(m: pb.Offer, value: Any) -> None:
        setattr(m, field, kind(value))

    return setter


_FIELDS: Final[dict[str, tuple[str, Callable[[pb.Offer, Any], None]]]] = {
    "name": ("name", _set("name", str)),
    "product": ("product_id", _set("product_id", str)),
    "segments": ("target.segments", _target_list("segments")),
    "channels": ("channels", lambda m, v: m.channels.extend(split_list(v))),
    "age_min": ("target.age_min", _target_int("age_min")),
    "age_max": ("target.age_max", _target_int("age_max")),
    "income_bands": ("target.income_bands", _target_list("income_bands")),
    "regions": ("target.regions", _target_list("regions")),
    "min_risk_tolerance": ("target.min_risk_tolerance", _target_int("min_risk_tolerance")),
    "customers_file": ("target.customer_ids", _customers),
    "start": ("start_time", _time("start_time")),
    "end": ("end_time", _time("end_time")),
    "boost": ("action", _set("boost", float)),
    "pin": ("action", _set("pin", int)),
    "cap": ("cap", _cap),
    "volume_cap": ("volume_cap", _set("volume_cap", int)),
    "volume_event": ("volume_event", _volume_event),
    "max_share": ("max_share", _set("max_share", float)),
    "priority": ("priority", _set("priority", int)),
    "draft": ("status", _status),
}
# request field named in a server message -> the option that sets it
HINTS: Final = {path: option(key) for key, (path, _) in reversed(_FIELDS.items())} | {
    "action": "--boost or --pin",
    "boost": "--boost",
    "pin": "--pin",
    "status": "--draft",
    "target.has_customer_list": "--customers-file",
}
