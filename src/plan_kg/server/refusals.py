"""Requests refused at one of the server's limits, said in the log for the operator (`RefusalLog`).

uvicorn's access log is off (it costs every request its line), so without this a client refused with 429, 503,
413, 408, 414 or 431 leaves no trace. Each refusal is one WARNING line on the logger `plan_kg.server.refusals`:
the client (as the per-client limits count it), the method and path (never the query string or body, which hold
the query: long, and anything at all), the status and the reason the client was told, on one line.

A client must not be able to flood the log: there is at most one line per client and status in `interval_s`,
and the next line for that pair says how many were held back meanwhile. The bookkeeping is bounded: pairs whose
interval has passed are forgotten (a count held for one is said then), and beyond `max_clients` pairs within an
interval, the clients past them share one line per status. Every text from the request is shortened and its
control characters escaped, so that none can end the line and forge another.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

#: The statuses of a refusal at a limit of the endpoint's (the SPARQL endpoint logs these; the HTTP
#: protocol logs those it sends itself): too slow (408), too large (413, 414, 431), too many at once
#: (429), a transfer coding it does not read (501), stopped or busy (503). A 400 or 404 is the client's own
#: business, and has its answer.
LOGGED_STATUSES = frozenset({408, 413, 414, 429, 431, 501, 503})

#: How much of the reason a line holds, and of the client and path.
REASON_CHARS = 200
_CLIENT_CHARS = 64
_PATH_CHARS = 100


@dataclass(slots=True)
class _Pair:
    """One client and status: when its last line was logged, and how many refusals were held back since."""

    logged_at: float = float("-inf")  # the clock's time
    logged_wall: float = 0.0  # the same moment as the time of day, to say in the next line
    held: int = 0


class RefusalLog:
    """Logs refusals at the server's limits, at most one line per (client, status) in `interval_s`.

    `clock` gives monotonic seconds (tests pass their own). Runs on the event loop only: not thread-safe.
    """

    def __init__(self, *, interval_s: float = 10.0, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval_s = interval_s
        self.max_clients = max_clients
        self._clock = clock
        self._pairs: OrderedDict[tuple[str, int], _Pair] = OrderedDict()  # oldest line first
        self._crowd: dict[int, _Pair] = {}  # status -> the pair of the clients past max_clients

    def note(self, *, client: str, method: str, path: str, status: int, reason: str) -> None:
        """Log that `client` was refused `method` `path` with `status` and `reason`, unless held back."""
        now = self._clock()
        shown = one_line(client, _CLIENT_CHARS)
        key = (shown, status)
        pair = self._pairs.get(key)
        crowded = False
        if pair is None:
            self._forget(now)
            if len(self._pairs) < self.max_clients:
                pair = self._pairs[key] = _Pair()
            else:
                crowded = True
                pair = self._crowd.setdefault(status, _Pair())
        if now - pair.logged_at < self.interval_s:
            pair.held += 1
            return
        held, since = pair.held, pair.logged_wall
        pair.logged_at, pair.logged_wall, pair.held = now, time.time(), 0
        if not crowded:
            self._pairs.move_to_end(key)
        request = " ".join(part for part in (one_line(method, 16), one_line(path, _PATH_CHARS)) if part)
        logger.warning("refused %d to %s (%s): %s%s%s", status, shown, request, one_line(reason.strip(), REASON_CHARS),
                       f" (this log follows {self.max_clients:,} clients refused within {self.interval_s:g} s: the others "
                       "share a line for each status)" if crowded else "",
                       f"; and {held} more like it {self._window(since)}" if held else "")

    @property
    def remembered(self) -> int:
        """How many (client, status) pairs are remembered."""
        return len(self._pairs)

    def _forget(self, now: float) -> None:
        """Forget the pairs whose last line is older than the interval, saying the refusals held back for them."""
        while self._pairs:
            key, pair = next(iter(self._pairs.items()))
            if now - pair.logged_at < self.interval_s:
                break
            del self._pairs[key]
            if pair.held:
                logger.warning("refused %d to %s %d more times %s, not logged one by one", key[1], key[0], pair.held,
                               self._window(pair.logged_wall))
        for status, pair in list(self._crowd.items()):
            if now - pair.logged_at >= self.interval_s:
                del self._crowd[status]
                if pair.held:
                    logger.warning("refused %d %d more times to clients past the %s this log follows %s, not logged "
                                   "one by one", status, pair.held, f"{self.max_clients:,}", self._window(pair.logged_wall))

    def _window(self, since: float) -> str:
        """When the refusals held back after a line logged at `since` (the time of day) came."""
        return f"in the {self.interval_s:g} s from {time.strftime('%H:%M:%S', time.localtime(since))}"


def one_line(text: str, most: int) -> str:
    """`text` on one line of at most `most` characters (and an ellipsis): each control or line-breaking
    character written as a Python escape (`\\n`, `\\x1b`, `\\u2028`), so that no line can be forged."""
    cut = len(text) > most
    text = text[:most]
    if not text.isprintable():
        text = "".join(character if character.isprintable() else _escaped(character) for character in text)
        cut = cut or len(text) > most
        text = text[:most]
    return text + "…" if cut else text


def _escaped(character: str) -> str:
    if unicodedata.category(character) == "Zs":  # a space (U+3000 in Japanese text), not printable to Python
        return character
    return character.encode("unicode_escape").decode("ascii")
