"""Says once, in the log, that `dist/` was rebuilt under a running server, which goes on serving the build it loaded.

That is what an app of `create_app` does on its own, and `plan-kg serve` with `reload_builds = false`; by default
`plan-kg serve` serves the new build once it has loaded (`reload.ReloadingApp`, which looks as often).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from .store import LoadedStore

logger = logging.getLogger(__name__)

#: How often the dump is looked at (one stat, in a task of its own: never on a request's path).
CHECK_EVERY_S = 2.0


def shown_time(seconds: float) -> str:
    """A dump's modification time (seconds since the epoch) as the log says it: local time, to the second."""
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


async def say_when_rebuilt(store: LoadedStore) -> None:
    """Wait until the dump `store` was loaded from is replaced by a new build's, then log a warning, once."""
    while (replaced_at := store.replaced_at()) is None:
        await asyncio.sleep(CHECK_EVERY_S)
    logger.warning("%s was rebuilt at %s; this server keeps serving the build it loaded; restart it to serve the new "
                   "one", store.source.parent, shown_time(replaced_at))
