"""A local stand-in for the Hugging Face hub: the HTTP endpoints ``snapshot_download`` calls.

Read from huggingface_hub's source (``_snapshot_download.py``, ``hf_api.py``, ``file_download.py``):

- ``GET /api/models/{repo}/revision/{revision}`` (``HfApi.repo_info``): JSON with ``id`` and ``sha``
  (the commit the revision resolves to);
- ``GET /api/models/{repo}/tree/{commit}?recursive=True`` (``HfApi.list_repo_tree``): a JSON list of
  ``{"type": "file", "path", "size", "oid", "lfs": {"oid", "size", "pointerSize"}}``; no ``Link``
  header = one page;
- ``HEAD /{repo}/resolve/{commit}/{path}`` (``get_hf_file_metadata``): ``X-Repo-Commit``, ``ETag``
  (for LFS files the sha256 of the content), ``Content-Length``;
- ``GET /{repo}/resolve/{commit}/{path}``: the bytes, honouring ``Range: bytes=N-`` with ``206``
  (``http_get`` resumes a dropped transfer that way).

``Repo.etags`` makes it answer another ETag for a file (a hostile endpoint or anyone on the path of a
plain-http mirror: an absolute path, ``../``). An unknown repo answers 404 with ``X-Error-Code: RepoNotFound`` as the hub does. ``cut_after``
makes the first GET of a file send only that many bytes and close the connection; ``stall_after``
makes it send that many bytes and then hang (so that a test can stop the client mid-file).
Every request is recorded (method, path, Range header).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from dataclasses import dataclass, field
from typing import Iterator
from urllib.parse import unquote, urlsplit


@dataclass
class Repo:
    files: dict[str, bytes]
    commit: str = "0123456789abcdef0123456789abcdef01234567"
    lfs: frozenset[str] = frozenset()  # paths served as LFS files (ETag = sha256)
    etags: dict[str, str] = field(default_factory=dict)  # path -> the ETag a hostile endpoint answers instead


@dataclass
class Request:
    method: str
    path: str
    range: str | None


@dataclass
class HubStandIn:
    repos: dict[str, Repo]
    cut_after: dict[str, int] = field(default_factory=dict)  # "repo/path" -> bytes before the connection drops
    stall_after: dict[str, int] = field(default_factory=dict)  # "repo/path" -> bytes before the server hangs
    requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _release: threading.Event = field(default_factory=threading.Event)

    def gets(self, suffix: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == "GET" and r.path.endswith(suffix)]

    def transfers(self) -> list[Request]:
        """File downloads (GET .../resolve/...), not metadata requests."""
        return [r for r in self.gets("") if "/resolve/" in r.path]

    def release(self) -> None:
        """Let stalled transfers end."""
        self._release.set()


def _etag(repo: Repo, path: str) -> str:
    if path in repo.etags:
        return repo.etags[path]
    data = repo.files[path]
    if path in repo.lfs:
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # git blob id, as the hub sends


def _handler(hub: HubStandIn) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            return None

        def _record(self) -> str:
            path = unquote(urlsplit(self.path).path)
            with hub._lock:
                hub.requests.append(Request(self.command, path, self.headers.get("Range")))
            return path

        def _json(self, obj: object) -> None:
            body = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _not_found(self, code: str) -> None:
            body = json.dumps({"error": code}).encode()
            self.send_response(404)
            self.send_header("X-Error-Code", code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _split(self, path: str, marker: str) -> tuple[str, str] | None:
            for name in hub.repos:
                prefix = f"/{name}/{marker}/"
                if path.startswith(prefix):
                    return name, path[len(prefix):]
            return None

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self._record()
            if path.startswith("/api/models/"):
                rest = path[len("/api/models"):]
                hit = self._split(rest, "revision") or self._split(rest, "tree")
                if hit is None:
                    return self._not_found("RepoNotFound")
                name, _ = hit
                repo = hub.repos[name]
                if self._split(rest, "revision"):
                    return self._json({"id": name, "modelId": name, "sha": repo.commit, "private": False,
                                       "siblings": [{"rfilename": p} for p in repo.files]})
                entries = []
                for p, data in sorted(repo.files.items()):
                    entry: dict[str, object] = {"type": "file", "path": p, "size": len(data), "oid": _etag(repo, p)}
                    if p in repo.lfs:
                        entry["lfs"] = {"oid": _etag(repo, p), "size": len(data), "pointerSize": 134}
                    entries.append(entry)
                return self._json(entries)
            hit = self._split(path, "resolve")
            if hit is None:
                return self._not_found("RepoNotFound")
            self._file(hub.repos[hit[0]], hit[0], hit[1].split("/", 1)[1], body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            path = self._record()
            hit = self._split(path, "resolve")
            if hit is None:
                return self._not_found("RepoNotFound")
            self._file(hub.repos[hit[0]], hit[0], hit[1].split("/", 1)[1], body=False)

        def _file(self, repo: Repo, name: str, path: str, *, body: bool) -> None:
            if path not in repo.files:
                return self._not_found("EntryNotFound")
            data = repo.files[path]
            start = 0
            ranged = self.headers.get("Range")
            if body and ranged and ranged.startswith("bytes=") and ranged.endswith("-"):
                start = int(ranged[len("bytes="):-1])
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", repo.commit)
            self.send_header("ETag", f'"{_etag(repo, path)}"')
            self.send_header("Accept-Ranges", "bytes")
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(data) - start))
            self.end_headers()
            if not body:
                return
            key = f"{name}/{path}"
            with hub._lock:
                cut = hub.cut_after.pop(key, None)
                stall = hub.stall_after.pop(key, None)
            if cut is not None:
                self.wfile.write(data[start:start + cut])
                self.wfile.flush()
                self.close_connection = True
                return
            if stall is not None:
                self.wfile.write(data[start:start + stall])
                self.wfile.flush()
                hub._release.wait(60)
                self.close_connection = True
                return
            self.wfile.write(data[start:])

    return Handler


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def serve(hub: HubStandIn) -> Iterator[str]:
    """Run the stand-in on a free local port; yields its endpoint URL (for HF_ENDPOINT)."""
    server = _Server(("127.0.0.1", 0), _handler(hub))
    thread = threading.Thread(target=server.serve_forever, name="hub-standin", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        hub.release()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
