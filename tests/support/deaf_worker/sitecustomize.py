"""On PYTHONPATH of a run-grid.sh test: every DVC queue worker started from it misses its own
shutdown, as a worker busy when its monitor asks does (dvc-task's monitor finds the queue empty
and asks the worker to stop; the request expires after 1 s). The monitor thread does nothing
here, so the worker waits for tasks until someone stops it."""

import sys

if "queue-worker" in sys.argv:
    from dvc_task.worker.temporary import TemporaryWorker

    def _never_stops(self: TemporaryWorker, name: str) -> None:
        return None

    TemporaryWorker.monitor = _never_stops  # type: ignore[method-assign]
