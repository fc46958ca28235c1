"""The order pytest-xdist's ``worksteal`` gets the tests in, so that the long ones start first.

worksteal deals the collection out in contiguous shares (the first N/n tests to the first
worker, the next to the second...) and later moves tests only from the tail of a share to an
idle worker. Collected in file order, the few tests that take minutes (DVC's experiment queue,
the thousand-column table) sat in the last share and ran one after another at the end while
the other cores were idle. ``long_first_shares`` spreads them over the shares, longest first
onto the share with the least long work so far, at the head of their share.

Some long tests mostly wait (DVC's experiment queue: its workers start, poll and stop; each of
those tests used ~0.4 of a core). All of them at the heads of all the shares left the cores
half idle for the first two minutes (`make test` runs one worker more than cores), so the
waiting ones go to all shares but the last, which starts with the long tests that compute.

The end of the run: an idle worker steals the last half of the longest queue (by count). In
file order the last share held nearly all of the ~1 400 in-process unit tests and the others
ended with tests that start pipelines (20 s each): those were never stolen, and one worker ran
them alone for the last ~25 s. Given ``heavy``, every share gets its part of the heavy tests
first and of the light ones after them, so each queue ends with light tests to steal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def share_sizes(count: int, workers: int) -> list[int]:
    """The shares worksteal's first deal gives: the remaining tests over the remaining workers."""
    sizes = []
    for share in range(workers):
        sizes.append(count // (workers - share))
        count -= sizes[-1]
    return sizes


def long_first_shares(
    items: Sequence[T],
    workers: int,
    seconds: Callable[[T], float | None],
    waits: Callable[[T], bool] = lambda item: False,
    heavy: Callable[[T], bool] | None = None,
) -> list[T]:
    """``items`` reordered: each long item (``seconds`` not None) at the head of a share, the
    others in their order after them. The long items that mostly wait (``waits``) come first,
    on the shares but the last. Given ``heavy``, the others are dealt heavy first: each share
    takes an equal part of the heavy items, then of the light ones (each part contiguous, in
    file order). With no long item and no ``heavy``, ``items`` unchanged."""
    long = sorted((item for item in items if seconds(item) is not None), key=lambda i: -seconds(i))
    if workers < 2 or (not long and heavy is None):
        return list(items)
    heads: list[list[T]] = [[] for _ in range(workers)]
    load = [0.0] * workers
    for item in sorted(long, key=lambda i: not waits(i)):  # stable: longest first within each
        allowed = load[:-1] if waits(item) else load
        share = allowed.index(min(allowed))
        heads[share].append(item)
        load[share] += seconds(item)
    chosen = {id(item) for item in long}
    rest = [item for item in items if id(item) not in chosen]
    sizes = share_sizes(len(items), workers)
    if heavy is None:
        first, after, parts = rest, [], sizes
    else:
        first = [item for item in rest if heavy(item)]
        after = [item for item in rest if not heavy(item)]
        parts = share_sizes(len(first), workers)
    ordered: list[T] = []
    for share, (size, part) in enumerate(zip(sizes, parts, strict=True)):
        room = max(0, size - len(heads[share]))
        light = after[: room - min(part, room)]
        take = room - len(light)  # this share's heavy part, more if the light ones ran out
        ordered += heads[share] + first[:take] + light
        first, after = first[take:], after[len(light) :]
    return ordered + first + after
