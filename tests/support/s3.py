"""A real S3 API server for tests: moto's ThreadedMotoServer on 127.0.0.1, on a free port.

The server runs in this test process; `dvc` runs in subprocesses and talks to it over HTTP
with dummy credentials that exist only in the subprocess environment (``S3Server.env``).
moto keeps bucket contents in process-global backends, so ``stop()`` then ``start()`` brings
the same buckets and objects back on the same port, like a storage service that was down.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
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

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start on a free port the first time, on the same port after a stop."""
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        server.start()
        self.port = server.get_host_and_port()[1]
        self._server = server

    def stop(self) -> None:
        """Stop serving and close the listening socket (so clients get 'connection refused')."""
        if self._server is None:
            return
        self._server.stop()
        # ThreadedMotoServer.stop() only ends serve_forever(); close the socket as well so
        # the port can be bound again by start().
        self._server._server.server_close()  # type: ignore[union-attr]
        self._server = None

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
