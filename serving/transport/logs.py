"""JSON logs, one object per line, carrying the request id of the call being served."""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; whatever else a record carries came in through `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}
# Request context maps carry profile fields (age, income, region) of a person: never logged,
# even when a caller passes one in `extra`. Customer ids are the only personal data in logs.
REDACTED_FIELDS = frozenset({"context"})


def bind_request_id(request_id: str) -> _Bound:
    """Tag every log line written inside the block (in this thread/task) with `request_id`."""
    return _Bound(request_id)


class _Bound:
    """The `with` block of bind_request_id (a class: every call enters one, and a
    @contextmanager generator costs twice as much)."""

    __slots__ = ("_request_id", "_token")

    def __init__(self, request_id: str) -> None:
        self._request_id = request_id

    def __enter__(self) -> str:
        self._token = request_id_var.set(self._request_id)
        return self._request_id

    def __exit__(self, *_exc: object) -> None:
        request_id_var.reset(self._token)


class JsonFormatter(logging.Formatter):
    """ts, level, logger, msg, request_id (when bound), `extra` fields, exc (when raised)."""

    def format(self, record: logging.LogRecord) -> str:
        """One JSON object, no newlines inside."""
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            doc["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in REDACTED_FIELDS and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return json.dumps(doc, default=str, ensure_ascii=False)


# grpc.aio logs an ERROR with a traceback when the answer of a call cannot be sent because its
# client has gone (ExecuteBatchError from the core): an ordinary event, not a server fault
_GRPC_CORE_LOGGER = "grpc._cython.cygrpc"
_CLIENT_GONE = "ExecuteBatchError raised in core by servicer method"


class ClientGoneFilter(logging.Filter):
    """Turns grpc's client-disconnected traceback into one INFO line naming the method."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record; rewrites it when it is a client that went away."""
        message = record.getMessage()
        if record.levelno >= logging.ERROR and message.startswith(_CLIENT_GONE):
            method = message[len(_CLIENT_GONE) :].strip(" []")
            record.msg, record.args = "client disconnected before its answer was sent", ()
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = record.exc_text = None
            record.method = method
        return True


def quiet_client_disconnects() -> None:
    """Install ClientGoneFilter on grpc's core logger (once)."""
    core = logging.getLogger(_GRPC_CORE_LOGGER)
    if not any(isinstance(f, ClientGoneFilter) for f in core.filters):
        core.addFilter(ClientGoneFilter())


def configure_json_logging(
    level: int | str = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """Replace the root logger's handlers with one writing JSON lines to `stream` (stderr)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    quiet_client_disconnects()
    return handler
