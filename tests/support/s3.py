"""A real S3 API server for tests: moto's ThreadedMotoServer on 127.0.0.1, on a free port.

The server runs in this test process; `dvc` runs in subprocesses and talks to it over HTTP
with dummy credentials that exist only in the subprocess environment (``S3Server.env``).
moto keeps bucket contents in process-global backends, so ``stop()`` then ``start()`` brings
the same buckets and objects back on the same port, like a storage service that was down.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from support.repo import Repo

REGION = "us-east-1"
# Dummy credentials (moto accepts any); never real ones, never in the repo's config.
ACCESS_KEY = "mlpipe-test-access-key"
SECRET_KEY = "mlpipe-test-secret-key-do-not-print"


class S3Server:
    """One moto server: start/stop on a fixed port, create buckets, list what was stored."""

    def __init__(self) -> None:
        self.port = 0
        self._server: ThreadedMotoServer | None = None
        self._placeholder: socket.socket | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start on a free port the first time, on the same port after a stop."""
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        if self._placeholder is not None:  # the port kept while stopped
            self._placeholder.close()
            self._placeholder = None
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        server.start()
        self.port = server.get_host_and_port()[1]
        self._server = server

    def stop(self, keep_port: bool = True) -> None:
        """Stop serving and close the listening socket (so clients get 'connection refused');
        the port stays reserved for ``start`` unless ``keep_port`` is false."""
        if self._server is None:
            if not keep_port and self._placeholder is not None:
                self._placeholder.close()
                self._placeholder = None
            return
        self._server.stop()
        # ThreadedMotoServer.stop() only ends serve_forever(); close the socket as well so
        # the port can be bound again by start().
        self._server._server.server_close()  # type: ignore[union-attr]
        self._server = None
        if not keep_port:
            return
        # Keep the port while stopped: a socket bound to it but not listening, so clients are
        # refused and no other process of the test run can take the port before start().
        placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        placeholder.bind(("127.0.0.1", self.port))
        self._placeholder = placeholder

    def hold_uploads_after(self, count: int, then: Callable[[], None]) -> UploadGate:
        """Let ``count`` object uploads (PUT of a key) through; hold the next one, run ``then``
        (in a thread of its own, e.g. ``self.stop``), and answer the held request 503 once it
        returns. Installed on the running server; a restart serves without it."""
        assert self._server is not None and self._server._server is not None, "start() first"
        wsgi = self._server._server
        gate = UploadGate(wsgi.app, count, then)
        wsgi.app = gate
        return gate

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def objects(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """Every key under prefix in bucket, with its size."""
        found: dict[str, int] = {}
        paginator = self.client().get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found[item["Key"]] = item["Size"]
        return found

    def env(self) -> dict[str, str]:
        """Environment for a `dvc` subprocess that should reach this server with credentials."""
        return {
            **no_aws_config_env(),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }


class UploadGate:
    """WSGI middleware of the S3 server (see ``S3Server.hold_uploads_after``): "the server went
    down right after the first upload" happens exactly so, however fast the client is, because
    the server itself holds the next upload while it is taken down."""

    def __init__(
        self, app: Callable[..., Iterable[bytes]], count: int, then: Callable[[], None]
    ) -> None:
        self._app = app
        self._left = count
        self._then = then
        self._lock = threading.Lock()
        self.held = threading.Event()  # an upload beyond ``count`` arrived
        self.done = threading.Event()  # ``then`` has returned

    def _run_then(self) -> None:
        try:
            self._then()
        finally:
            self.done.set()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "").strip("/")
        if environ.get("REQUEST_METHOD") == "PUT" and "/" in path:  # an object, not a bucket
            with self._lock:
                first_held = self._left == 0
                self._left -= 1
                hold = self._left < 0
            if hold:
                if first_held:
                    self.held.set()
                    threading.Thread(target=self._run_then, daemon=True).start()
                self.done.wait(timeout=300)
                start_response("503 Service Unavailable", [("Content-Length", "0")])
                return [b""]
        return self._app(environ, start_response)


def no_aws_config_env() -> dict[str, str]:
    """Environment that hides any AWS config/credentials of the machine running the tests."""
    missing = str(Path("/nonexistent/mlpipe-tests/aws"))
    return {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": missing,
        "AWS_SHARED_CREDENTIALS_FILE": missing,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def new_bucket(server: S3Server) -> str:
    """A fresh, uniquely named bucket (moto's state outlives a server; names must not clash)."""
    name = f"mlpipe-{uuid.uuid4().hex[:12]}"
    server.create_bucket(name)
    return name


def use_s3(repo: Repo, server: S3Server, bucket: str) -> None:
    """Point the project's `s3` remote at a test bucket and make it the default (config.local,
    as a user does for one checkout)."""
    repo.dvc("remote", "modify", "--local", "s3", "url", f"s3://{bucket}/mlpipe")
    repo.dvc("remote", "modify", "--local", "s3", "endpointurl", server.endpoint)
    repo.dvc("remote", "default", "--local", "s3")


def data_md5s(repo: Repo) -> dict[str, str]:
    """md5 of every file under data/ in the workspace, by relative path: what a pull restores.

    The .gitignore files DVC writes next to its outputs are bookkeeping, not data: skipped.
    """
    return {
        str(path.relative_to(repo.path)): hashlib.md5(path.read_bytes()).hexdigest()
        for path in sorted((repo.path / "data").rglob("*"))
        if path.is_file() and path.name != ".gitignore"
    }
