"""HTTP client for ``gen3d serve`` and a helper to start a local server: standard library only, no bpy.

Every failure is a :class:`ClientError` whose message names the problem and the fix.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

FINISHED = ("done", "failed", "cancelled")
DEFAULT_URL = "http://127.0.0.1:8717"


class ClientError(RuntimeError):
    """A request failed; ``status`` is the HTTP status (None when the server could not be reached)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def is_loopback_url(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, online_access: bool = True) -> str:
    """Validate a server URL; non-loopback URLs need ``online_access`` (Blender's "Allow Online Access")."""
    url = (url or "").strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f"server URL {url!r} is not an http(s) URL: use e.g. {DEFAULT_URL}")
    if not is_loopback_url(url) and not online_access:
        raise ClientError(f"{parts.hostname} is not this computer and online access is off: enable "
                          "Preferences > System > Network > Allow Online Access, or use a 127.0.0.1 server")
    return url


class Client:
    def __init__(self, url: str = DEFAULT_URL, token: str | None = None, timeout: float = 30.0,
                 online_access: bool = True):
        self.url = check_url(url, online_access)
        self.token = token or None
        self.timeout = timeout

    # -- plumbing -------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: dict | None = None, timeout: float | None = None):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as e:
            raise ClientError(_server_message(e), e.code) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
            reason = getattr(e, "reason", e)
            raise ClientError(f"cannot reach the gen3d server at {self.url} ({reason}): start it "
                              "(gen3d serve, or the add-on's Start server) or fix the URL in the preferences") from None

    def _json(self, method: str, path: str, body: dict | None = None) -> dict:
        with self._request(method, path, body) as resp:
            raw = resp.read()
        try:
            return json.loads(raw)
        except ValueError:
            raise ClientError(f"{self.url}{path} did not answer JSON: is this URL a gen3d server?") from None

    # -- API ------------------------------------------------------------------------------------------
    def health(self) -> dict:
        return self._json("GET", "/v1/health")

    def submit(self, prompt: str, **options) -> dict:
        body = {"prompt": prompt, **{k: v for k, v in options.items() if v is not None}}
        return self._json("POST", "/v1/jobs", body)

    def status(self, job_id: str) -> dict:
        return self._json("GET", f"/v1/jobs/{urllib.parse.quote(job_id)}")

    def jobs(self) -> list[dict]:
        return self._json("GET", "/v1/jobs")["jobs"]

    def cancel(self, job_id: str) -> dict:
        return self._json("DELETE", f"/v1/jobs/{urllib.parse.quote(job_id)}")

    def release(self) -> dict:
        return self._json("POST", "/v1/release", {})

    def download(self, job_id: str, dest: str | os.PathLike) -> Path:
        """Save the job's GLB to ``dest`` (atomically)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f, self._request("GET", f"/v1/jobs/{urllib.parse.quote(job_id)}/result",
                                                         timeout=max(self.timeout, 120)) as resp:
                shutil.copyfileobj(resp, f)
            if Path(tmp).stat().st_size < 20:
                raise ClientError(f"the result of job {job_id} is empty: generate it again")
            os.replace(tmp, dest)
        finally:
            Path(tmp).unlink(missing_ok=True)
        return dest

    def download_thumbnail(self, job_id: str, dest: str | os.PathLike) -> Path | None:
        """Save the job's PNG preview, or return None when the server has none."""
        try:
            with self._request("GET", f"/v1/jobs/{urllib.parse.quote(job_id)}/thumbnail") as resp:
                data = resp.read()
        except ClientError as e:
            if e.status == 404:
                return None
            raise
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        return dest

    def wait(self, job_id: str, on_progress: Callable[[dict], None] | None = None,
             should_cancel: Callable[[], bool] | None = None, poll: float = 0.25,
             timeout: float | None = None) -> dict:
        """Poll until the job finishes; ``should_cancel()`` returning True sends a cancel once."""
        t0, cancelled = time.monotonic(), False
        while True:
            st = self.status(job_id)
            if on_progress is not None:
                on_progress(st)
            if st["state"] in FINISHED:
                return st
            if should_cancel is not None and not cancelled and should_cancel():
                self.cancel(job_id)
                cancelled = True
            if timeout is not None and time.monotonic() - t0 > timeout:
                self.cancel(job_id)
                raise ClientError(f"job {job_id} took longer than {timeout:.0f} s and was cancelled: use the fast "
                                  "preset or a GPU server")
            time.sleep(poll)


def _server_message(e: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(e.read() or b"{}")
        msg = body.get("error") or body.get("detail")
    except ValueError:
        msg = None
    if e.code == 401:
        return msg or "the server rejected the token: set the token it was started with in the add-on preferences"
    return f"server error {e.code}: {msg or e.reason}"


# -------------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """A ``gen3d serve`` child process on 127.0.0.1 (started from a configured ``gen3d`` executable)."""

    def __init__(self, executable: str = "gen3d", port: int | None = None, model: str | None = None,
                 device: str = "auto", token: str | None = None, extra_args: list[str] | None = None,
                 log_path: str | os.PathLike | None = None, env: dict | None = None):
        exe = shutil.which(executable) or (executable if Path(executable).is_file() else None)
        if exe is None:
            raise ClientError(f"gen3d executable {executable!r} not found: set its full path in the add-on "
                              "preferences (e.g. /path/to/gen3d/.venv/bin/gen3d)")
        self.port = port or free_port()
        self.token = token
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [exe, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--device", device]
        if model:
            cmd += ["--model", model]
        cmd += list(extra_args or [])
        child_env = dict(os.environ if env is None else env)
        child_env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) - 1)))
        if token:
            child_env["GEN3D_SERVE_TOKEN"] = token  # not on the command line (visible to other users)
        self.log_path = Path(log_path) if log_path else Path(tempfile.gettempdir()) / f"gen3d-serve-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - kept open for the child's lifetime
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=child_env)

    def client(self, timeout: float = 30.0) -> Client:
        return Client(self.url, self.token, timeout=timeout)

    def wait_ready(self, timeout: float = 120.0) -> dict:
        c = self.client(timeout=2.0)
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise ClientError(f"gen3d serve exited with code {self.proc.returncode}: "
                                  f"{self.log_tail() or 'no output'}")
            try:
                return c.health()
            except ClientError:
                time.sleep(0.2)
        self.stop()
        raise ClientError(f"gen3d serve did not answer within {timeout:.0f} s: see {self.log_path}")

    def log_tail(self, lines: int = 3) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self._log.close()
