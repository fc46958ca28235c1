"""Python runs this at start-up when its folder is first on PYTHONPATH (tests only; see
tests/pipeline/test_serving.py): `mlpipe predict` scores and writes its first chunk, creates
the file named by MLPIPE_TEST_PAUSED, and then waits, in a sleep that a signal interrupts,
until the test signals it. So the signal always arrives in the middle of a write, however
fast the process runs."""

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
                time.sleep(600)  # the test's signal ends this

        return _score_file(*args, on_chunk=after_a_chunk, **kwargs)

    _predict.score_file = _score_file_pausing
