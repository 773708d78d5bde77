"""Helpers for tests that start a real server on loopback (a static folder's, a triplestore, nginx)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, *, seconds: float = 10.0) -> None:
    """Return once `url` answers (any HTTP status), or raise after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextlib.contextmanager
def nginx(directory: Path, sites: Mapping[int, str]) -> Iterator[None]:
    """Run Debian's nginx with a `server` on 127.0.0.1:{port} for each of `sites`, whose text is its directives.

    One process in the foreground, stopped by its PID: no workers, which as root would switch to a user who
    cannot write the buffers in `directory`, where the pid file and logs are too. Without nginx the test
    fails (it does not skip): `make setup-test` installs it.
    """
    executable = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")  # not on a user's PATH
    if executable is None:
        pytest.fail("nginx is not installed; the reverse-proxy tests need it: apt-get install nginx "
                    "(`make setup-test` installs it when run as root)", pytrace=False)
    directory.mkdir(parents=True, exist_ok=True)
    servers = "".join(f"  server {{\n    listen 127.0.0.1:{port};\n    {site}\n  }}\n" for port, site in sites.items())
    conf = directory / "nginx.conf"
    conf.write_text(f"""master_process off;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {directory}/client_body;
  proxy_temp_path {directory}/proxy;
  fastcgi_temp_path {directory}/fastcgi;
  uwsgi_temp_path {directory}/uwsgi;
  scgi_temp_path {directory}/scgi;
{servers}}}
""", encoding="utf-8")
    log = directory / "error.log"
    with open(directory / "stderr.log", "wb") as stderr:
        process = subprocess.Popen([executable, "-p", str(directory), "-e", str(log), "-c", str(conf),
                                    "-g", "daemon off;"], stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
    try:
        deadline = time.monotonic() + 10
        for port in sites:
            while not _listening(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    said = (directory / "stderr.log").read_text() + (log.read_text() if log.exists() else "")
                    raise RuntimeError(f"nginx did not start (exit code {process.poll()}): {said}")
                time.sleep(0.02)
        yield
    finally:
        stop(process)


def stop(process: subprocess.Popen, *, timeout_s: float = 10) -> None:
    """End a server the test started (by its PID): terminate, and kill if it has not ended within `timeout_s`."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
