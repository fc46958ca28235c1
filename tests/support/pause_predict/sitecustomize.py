"""Python runs this at start-up when its folder is first on PYTHONPATH (tests only; see
tests/pipeline/test_serving.py): `mlpipe predict` scores and writes its first chunk, creates
the file named by MLPIPE_TEST_PAUSED, and then waits until the test signals it. So the signal
always arrives in the middle of a write, however fast the process runs.

The wait is short sleeps in a loop, not one long sleep: Python runs a signal's handler between
bytecodes, so a signal that lands after the last check and before the sleep's system call
starts would not interrupt that call (seen once in 180 repeats: a 600 s sleep outlived the
test's 120 s wait). With 0.1 s sleeps the handler runs at most 0.1 s after the signal."""

import os

_PAUSED = os.environ.get("MLPIPE_TEST_PAUSED")

if _PAUSED:
    import time
    from pathlib import Path

    import mlpipe.stages.predict as _predict

    _score_file = _predict.score_file

    def _score_file_pausing(*args, on_chunk=None, **kwargs):  # type: ignore[no-untyped-def]
        def after_a_chunk(rows: int) -> None:
            if on_chunk is not None:
                on_chunk(rows)
            if not Path(_PAUSED).exists():
                Path(_PAUSED).write_text("paused after the first chunk\n")
                deadline = time.monotonic() + 600
                while time.monotonic() < deadline:  # the test's signal ends this
                    time.sleep(0.1)

        return _score_file(*args, on_chunk=after_a_chunk, **kwargs)

    _predict.score_file = _score_file_pausing
