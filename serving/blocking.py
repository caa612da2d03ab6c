"""Running a call that waits (a store read, a registry read) off the server's loop thread."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

Resp = TypeVar("Resp")


async def off_loop(
    blocking: Executor | None, call: Callable[..., Resp], *args: Any, **kwargs: Any
) -> Resp:
    """`call(*args, **kwargs)` in `blocking` (inline when None), in the caller's context (the
    verified caller of the auth interceptor goes with it)."""
    if blocking is None:
        return call(*args, **kwargs)
    bound = functools.partial(contextvars.copy_context().run, call, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(blocking, bound)
