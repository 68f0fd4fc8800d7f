"""``tenon serve`` really started, for the tests that need real processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(
    db_url: str, folder: Path, workers: int = 1, env: Mapping[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The server's base URL and process, once ``/health`` answers; stopped (or killed)
    afterwards. Its output goes to ``folder/serve.log``."""
    port = free_port()
    environ = {**os.environ, "TENON_DATABASE_URL": db_url, **(env or {})}
    environ.pop("TENON_TEST_CLOCK", None)
    serve = [sys.executable, "-m", "runtime.cli", "serve", "--port", str(port)]
    serve += ["--workers", str(workers)]
    log = (folder / "serve.log").open("ab")
    process = subprocess.Popen(serve, env=environ, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start: " + (folder / "serve.log").read_text()[-2000:])
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait()
        log.close()
