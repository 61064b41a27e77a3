"""The portal's app for the purge kill tests: a purge that pauses at one step, so it can be killed.

Run as ``flask --app tests.purge_pauses retention purge``. The environment names the step and
how long to sleep there, the first time it is reached:

* ``RETENTION_PURGE_PAUSE_AFTER_INTENT``: after the first intent was committed, nothing deleted;
* ``RETENTION_PURGE_PAUSE_AFTER_DELETE``: after the first file and its redacted copies left
  storage, before the intent is marked done.

Production code reads none of this: it only offers :data:`rights_portal.retention.runner.step_hook`,
a no-op there, which this module replaces.
"""

from __future__ import annotations

import os
import time

from rights_portal import create_app
from rights_portal.retention import runner

PAUSES: dict[runner.PurgeStep, str] = {
    "intent_committed": "RETENTION_PURGE_PAUSE_AFTER_INTENT",
    "files_removed": "RETENTION_PURGE_PAUSE_AFTER_DELETE",
}
_paused: set[runner.PurgeStep] = set()


def pause_once(step: runner.PurgeStep) -> None:
    """Sleep the configured seconds the first time the run reaches ``step``."""
    seconds = float(os.environ.get(PAUSES[step], "0") or 0)
    if seconds > 0 and step not in _paused:
        _paused.add(step)
        time.sleep(seconds)


runner.step_hook = pause_once
app = create_app()
