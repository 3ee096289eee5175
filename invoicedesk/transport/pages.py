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


async def pages_until_done(
    fetch: Callable[[int], Awaitable[T]],
    *,
    ahead: int,
    full: Callable[[T], bool],
) -> AsyncGenerator[T, None]:
    """Yield ``await fetch(n)`` for pages 1, 2, 3... in page order, for a listing with no
    count: the consumer stops it (``aclosing``) at the page it knows is past the end.

    Page 1 goes alone; after a ``full`` page up to ``ahead`` pages are in flight (the
    account's pacer decides how fast they really go), after any other page only the next
    one. A listing of a page or two costs what a sequential one does; a long one overlaps
    the round trips instead of adding them up, and asks for at most ``ahead - 1`` pages past
    its end (fewer when the pacer still holds them: a page not yet sent is never sent). The
    first failure is raised in page order; closing early cancels everything in flight.
    """
    pending: deque[asyncio.Task[T]] = deque()
    upcoming = 1
    wanted = 1
    try:
        while True:
            while len(pending) < wanted:
                pending.append(asyncio.ensure_future(fetch(upcoming)))
                upcoming += 1
            result = await pending.popleft()
            wanted = max(ahead, 1) if full(result) else 1
            yield result
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
