"""The activation queue of one PE: a bounded FIFO between the central unit's broadcast and the PE's datapath."""

from __future__ import annotations

from collections import deque

import simpy

Broadcast = tuple[int, int]  # (activation value, input column)


class ActivationQueue:
    """A FIFO of `depth` broadcasts that lets the central unit run ahead of a busy PE (Han et al. 2016, Section IV).

    Not a simpy Store: the central unit must push one broadcast into all N queues in the same cycle, which needs a
    room test on every queue before any push. Each side waits on an event the other side triggers: the PE on
    `pushed()` (a push, or the end of the vector), the central unit on `popped()`. A pop in cycle c frees its slot
    for a push in cycle c. An entry pushed in cycle c can be popped from cycle c + `latency` on (the queue register
    is written in the cycle of the broadcast, the pointer-read unit latches it in the next); it holds its slot
    until it is popped.
    """

    def __init__(self, env: simpy.Environment, depth: int, latency: int) -> None:
        self.env = env
        self.depth = depth
        self.latency = latency
        self.items: deque[Broadcast] = deque()
        self.pushed_at: deque[int] = deque()  # push cycle of each entry
        self.closed = False  # the central unit has scanned the whole vector: no more pushes this tile
        self.pushes = 0
        self.pops = 0
        self._on_push: simpy.Event | None = None
        self._on_pop: simpy.Event | None = None

    @property
    def full(self) -> bool:
        return len(self.items) >= self.depth

    def open(self) -> None:
        """Start a tile: the queue is empty and the central unit is about to scan a vector."""
        self.closed = False

    def push(self, item: Broadcast) -> None:
        if self.full:
            raise OverflowError("push into a full activation queue: the broadcast must wait for room")
        self.items.append(item)
        self.pushed_at.append(int(self.env.now))
        self.pushes += 1
        _wake(self._on_push)
        self._on_push = None

    def head_ready(self) -> int:
        """First cycle in which the oldest entry can be popped."""
        return self.pushed_at[0] + self.latency

    def pop(self) -> Broadcast:
        if self.env.now < self.head_ready():
            raise RuntimeError("pop before the broadcast latency has passed")
        item = self.items.popleft()
        self.pushed_at.popleft()
        self.pops += 1
        _wake(self._on_pop)
        self._on_pop = None
        return item

    def close(self) -> None:
        """End of the vector: wake a PE waiting on the empty queue so it can finish its tile."""
        self.closed = True
        _wake(self._on_push)
        self._on_push = None

    def pushed(self) -> simpy.Event:
        """An event for the next push (or close), for the PE waiting on an empty queue."""
        self._on_push = self.env.event()
        return self._on_push

    def popped(self) -> simpy.Event:
        """An event for the next pop, for the central unit waiting on a full queue."""
        self._on_pop = self.env.event()
        return self._on_pop


def _wake(waiter: simpy.Event | None) -> None:
    """Resume the waiting side, if any, in the current cycle."""
    if waiter is not None:
        waiter.succeed()
