"""Fixtures for pipeline tests that need a real S3 API (moto's threaded server)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.s3 import S3Server


@pytest.fixture
def s3() -> Iterator[S3Server]:
    """A running S3 server on 127.0.0.1 and a free port; stopped after the test."""
    server = S3Server()
    server.start()
    yield server
    server.stop(keep_port=False)
