"""What actors need at run time: settings, a database per event loop, adapters."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from core.clock import Clock, SystemClock
from core.db import Database
from core.mail import MailTransport
from core.settings import Settings


@dataclass
class Runtime:
    """Shared by the actors of one broker; the database is created on the actor loop."""

    settings: Settings
    transport: MailTransport
    clock: Clock = field(default_factory=SystemClock)
    _dbs: dict[int, Database] = field(default_factory=dict)

    def db(self) -> Database:
        # An async engine belongs to one event loop; Dramatiq runs async actors on its own.
        loop = asyncio.get_running_loop()
        key = id(loop)
        if key not in self._dbs:
            self._dbs[key] = Database(
                self.settings.database.url, pool_size=self.settings.database.pool_size
            )
        return self._dbs[key]

    async def close(self) -> None:
        loop_id = id(asyncio.get_running_loop())
        db = self._dbs.pop(loop_id, None)
        if db is not None:
            await db.dispose()
