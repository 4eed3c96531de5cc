"""Helpers shared by the data tests: the shared MNIST folder, tiny IDX files, a local server."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnscratch.data.idx import to_idx_bytes
from nnscratch.data.mnist import MNIST_FILES

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The read-only official test set (t10k files only), next to the repository.
SHARED_MNIST = (REPO_ROOT / ".." / "shared" / "data" / "mnist").resolve()
SHARED_REASON = f"the official MNIST test files are not in {SHARED_MNIST}"


def shared_mnist_present() -> bool:
    return all((SHARED_MNIST / MNIST_FILES[k]).is_file() for k in ("test_images", "test_labels"))


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@dataclass
class TinyMNIST:
    """Four small gzip IDX files in the official format, their bytes, arrays and md5s."""

    blobs: dict[str, bytes]
    arrays: dict[str, np.ndarray]
    checksums: dict[str, str] = field(default_factory=dict)

    def write(self, folder: Path, roles: tuple[str, ...] | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for role, name in MNIST_FILES.items():
            if roles is None or role in roles:
                (folder / name).write_bytes(self.blobs[name])


def tiny_mnist(n_train: int = 30, n_test: int = 20, seed: int = 0) -> TinyMNIST:
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": (np.arange(n_test)[::-1] % 10).astype(np.uint8),
    }
    blobs = {MNIST_FILES[r]: to_idx_bytes(a, compress=True) for r, a in arrays.items()}
    return TinyMNIST(blobs, arrays, {name: md5(b) for name, b in blobs.items()})


class _Handler(http.server.BaseHTTPRequestHandler):
    server: LocalServer._Server  # type: ignore[name-defined]

    def do_GET(self) -> None:
        self.server.owner.requests.append(self.path)
        entry = self.server.owner.routes.get(self.path)
        if entry is None:
            self.send_error(404)
            return
        body, mode = entry
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if mode == "truncate":
            # Promise more than we send, then hang up.
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep stderr quiet
        pass


class LocalServer:
    """``http.server`` on 127.0.0.1 (ephemeral port) in a thread.

    ``routes`` maps a URL path to ``(body, mode)`` with mode ``"ok"`` or ``"truncate"``;
    every requested path is appended to ``requests``.
    """

    class _Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        owner: LocalServer

    def __init__(self) -> None:
        self.routes: dict[str, tuple[bytes, str]] = {}
        self.requests: list[str] = []
        self._httpd = self._Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def serve(self, mirror: str, blobs: dict[str, bytes], mode: str = "ok") -> str:
        """Serve ``blobs`` (file name -> bytes) under ``/<mirror>/``; return the mirror URL."""
        for name, body in blobs.items():
            self.routes[f"/{mirror}/{name}"] = (body, mode)
        return f"{self.url}/{mirror}/"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing/"
