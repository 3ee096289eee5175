"""Paged lists: how many pages a total needs, and fetching them ahead while yielding in order."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def page_count(total: int, page_size: int) -> int:
    """Pages needed for ``total`` records at ``page_size`` per page (at least one)."""
    return max(1, math.ceil(total / page_size))


async def pages_in_order(
    fetch: Callable[[int], Awaitable[T]],
    first: int,
    last: int,
    *,
    ahead: int,
) -> AsyncGenerator[tuple[int, T], None]:
    """Yield ``(number, await fetch(number))`` for pages ``first..last``, in page order.

    Up to ``ahead`` pages are in flight at once (the account's pacer decides how fast they
    really go), and the consumer's pace bounds memory. The first failure cancels the rest
    and is raised; closing the iterator early cancels everything still in flight.
    """
    pending: deque[tuple[int, asyncio.Task[T]]] = deque()
    upcoming = first
    try:
        while upcoming <= last or pending:
            while upcoming <= last and len(pending) < max(ahead, 1):
                pending.append((upcoming, asyncio.ensure_future(fetch(upcoming))))
                upcoming += 1
            number, task = pending.popleft()
            result = await task
            yield number, result
    finally:
        for _, task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*(t for _, t in pending), return_exceptions=True)
