"""Fake Hub: a small Hugging Face Hub HTTP endpoint for tests (stdlib, in a thread).

It implements the subset of the Hub API that the unmodified ``huggingface_hub`` 0.36
client uses for dataset repos: ``create_repo`` (``POST /api/repos/create``),
``/api/validate-yaml``, ``preupload``, the LFS batch API (basic transfer: ``PUT`` to an
upload URL, then ``verify``), the NDJSON ``commit`` endpoint (inline base64 and
``lfsFile`` entries), branches, tags, repo info (``/api/datasets/{repo}[/revision/
{rev}]``), ``paths-info``, ``tree`` and downloads (``HEAD``/``GET`` ``/datasets/{repo}/
resolve/{rev}/{path}`` with ``X-Repo-Commit``, ``ETag``, ``X-Linked-Etag``,
``X-Linked-Size`` and ``Range`` support), ``list_repo_refs`` (``/api/datasets/{repo}/
refs``).

Model repos (``repo_type="model"``, what a saved policy is pushed to) are served too,
at the Hub's model URLs (``/api/models/{repo}...``, ``/{repo}.git/info/lfs/...``,
``/{repo}/resolve/...``); the server keeps them under the key ``models/<org>/<name>``
(``hub.files("models/org/x")``), apart from the dataset repo ``org/x``.

Auth: ``write_token`` may do anything, ``read_token`` may read; anonymous callers may
read public repos only. Errors carry the ``X-Error-Code`` header the client maps to
``RepositoryNotFoundError`` / ``RevisionNotFoundError`` / ``EntryNotFoundError``.

Faults for tests: :meth:`FakeHub.fail` answers matching requests with a status code,
:meth:`FakeHub.delay` stalls them, :meth:`FakeHub.corrupt` serves a truncated or
altered file, :meth:`FakeHub.drop` closes the connection without an answer (a dropped
connection). Everything is in memory; nothing is pickled.
"""

from __future__ import annotations

import base64
import dataclasses
import fnmatch
import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

__all__ = ["FakeHub", "Fault"]

LFS_SUFFIXES = (".safetensors", ".parquet", ".bin")


def git_blob_sha(data: bytes) -> str:
    """Git blob id of ``data`` (what the Hub reports as a regular file's oid)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclasses.dataclass
class Fault:
    """A scripted failure: requests whose ``METHOD path`` matches ``pattern``."""

    pattern: str
    status: int = 500
    delay: float = 0.0
    corrupt: str = ""  # "truncate" | "flip"
    drop: bool = False  # read the request, then close the connection unanswered
    times: int = 1_000_000


@dataclasses.dataclass
class _Repo:
    private: bool
    commits: dict[str, dict[str, bytes]]
    parents: dict[str, str | None]
    branches: dict[str, str]
    tags: dict[str, str]


class FakeHub:
    """In-memory Hub on ``http://127.0.0.1:<port>``; use as a context manager."""

    def __init__(self, *, write_token: str = "hf_write", read_token: str = "hf_read"):
        self.write_token = write_token
        self.read_token = read_token
        self.repos: dict[str, _Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.faults: list[Fault] = []
        self.requests: list[str] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            pass

        Handler.hub = hub
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ faults
    def fail(self, pattern: str, status: int = 500, *, times: int = 1_000_000) -> None:
        """Answer requests matching ``pattern`` (fnmatch on ``'METHOD /path'``)."""
        self.faults.append(Fault(pattern, status=status, times=times))

    def delay(self, pattern: str, seconds: float, *, times: int = 1_000_000) -> None:
        """Stall requests matching ``pattern`` for ``seconds`` before answering."""
        self.faults.append(Fault(pattern, status=0, delay=seconds, times=times))

    def corrupt(self, pattern: str, mode: str = "flip", *, times: int = 1_000_000) -> None:
        """Serve ``truncate``d or ``flip``ped (same size) content for matching files."""
        self.faults.append(Fault(pattern, status=0, corrupt=mode, times=times))

    def drop(self, pattern: str, *, times: int = 1_000_000) -> None:
        """Read matching requests, then close the connection without answering."""
        self.faults.append(Fault(pattern, status=0, drop=True, times=times))

    def clear_faults(self) -> None:
        self.faults.clear()

    def _take_fault(self, key: str, *, kind: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                active = {"status": fault.status > 0, "delay": fault.delay > 0,
                          "corrupt": bool(fault.corrupt), "drop": fault.drop}[kind]
                if active and fault.times > 0 and fnmatch.fnmatch(key, fault.pattern):
                    if kind != "corrupt":
                        fault.times -= 1
                    return fault
        return None

    def _spend_corrupt(self, fault: Fault) -> None:
        with self.lock:
            fault.times -= 1

    # ------------------------------------------------------------------ repo model
    def add_commit(self, repo_id: str, branch: str, files: dict[str, bytes],
                   deletes: tuple[str, ...] = (), message: str = "") -> str:
        """Commit ``files`` on ``branch`` (server side); return the commit sha."""
        with self.lock:
            repo = self.repos[repo_id]
            parent = repo.branches.get(branch)
            tree = dict(repo.commits[parent]) if parent else {}
            for path in deletes:
                tree.pop(path, None)
            tree.update(files)
            body = json.dumps({"parent": parent, "message": message, "t": time.time_ns(),
                               "files": {k: hashlib.sha256(v).hexdigest()
                                         for k, v in sorted(tree.items())}})
            sha = hashlib.sha1(body.encode()).hexdigest()
            repo.commits[sha] = tree
            repo.parents[sha] = parent
            repo.branches[branch] = sha
            return sha

    def create_repo(self, repo_id: str, *, private: bool = False) -> None:
        with self.lock:
            self.repos[repo_id] = _Repo(private, {}, {}, {}, {})
        self.add_commit(repo_id, "main", {".gitattributes": b"*.safetensors filter=lfs\n"},
                        message="initial commit")

    def resolve(self, repo_id: str, rev: str) -> str | None:
        repo = self.repos[repo_id]
        if rev in repo.branches:
            return repo.branches[rev]
        if rev in repo.tags:
            return repo.tags[rev]
        if rev in repo.commits:
            return rev
        return None

    def files(self, repo_id: str, rev: str = "main") -> dict[str, bytes]:
        sha = self.resolve(repo_id, rev)
        assert sha is not None
        return dict(self.repos[repo_id].commits[sha])


MODEL_PREFIX = "models/"


def _public(key: str) -> str:
    """The URL path of a repo key: ``datasets/org/x`` or (a model) ``org/x``."""
    return key[len(MODEL_PREFIX):] if key.startswith(MODEL_PREFIX) else f"datasets/{key}"


def _is_lfs(path: str, size: int) -> bool:
    return path.endswith(LFS_SUFFIXES) or size > 10 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    hub: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    # ------------------------------------------------------------------ plumbing
    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            return self.rfile.read(n)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None,
              content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj, headers: dict | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _error(self, status: int, message: str, code: str | None = None) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._json(status, {"error": message}, headers)

    def _role(self) -> str:
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if token == self.hub.write_token:
            return "write"
        if token == self.hub.read_token:
            return "read"
        return "bad" if token else "anon"

    def _dispatch(self) -> None:
        url = urlparse(self.path)
        path = unquote(url.path)
        key = f"{self.command} {path}"
        self.hub.requests.append(key)
        fault = self.hub._take_fault(key, kind="delay")
        if fault:
            time.sleep(fault.delay)
        fault = self.hub._take_fault(key, kind="status")
        if fault:
            self._body()  # an unread body would garble the next request on the socket
            return self._error(fault.status, f"injected fault {fault.status}")
        if self.hub._take_fault(key, kind="drop"):
            self._body()
            self.close_connection = True
            return None
        self.query = parse_qs(url.query)
        for pattern, handler in _ROUTES:
            m = re.fullmatch(pattern[1], path)
            if m and pattern[0] == self.command:
                return handler(self, *m.groups())
        self._error(404, f"no route for {key}")

    do_GET = do_HEAD = do_POST = do_PUT = _dispatch

    # ------------------------------------------------------------------ helpers
    def _repo(self, repo_id: str, *, write: bool = False) -> _Repo | None:
        role = self._role()
        if role == "bad":
            self._error(401, "Invalid credentials in Authorization header")
            return None
        repo = self.hub.repos.get(repo_id)
        if write and role != "write":
            if role == "anon":
                self._error(401, "You must be authenticated to write")
            else:
                self._error(403, "You don't have the rights to write to this repo")
            return None
        if repo is None or (repo.private and role == "anon"):
            self._error(404 if role != "anon" else 401, "Repository not found", "RepoNotFound")
            return None
        return repo

    def _rev(self, repo_id: str, rev: str) -> str | None:
        sha = self.hub.resolve(repo_id, rev)
        if sha is None:
            self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        return sha

    def _commit(self, repo_id: str, rev: str, *, write: bool = False
                ) -> tuple[str, dict[str, bytes]] | None:
        """Check access and resolve ``rev``: ``(sha, tree)``, or None (error sent)."""
        if self._repo(repo_id, write=write) is None:
            return None
        sha = self._rev(repo_id, rev)
        if sha is None:
            return None
        return sha, self.hub.repos[repo_id].commits[sha]

    def _path_info(self, path: str, data: bytes) -> dict:
        info = {"type": "file", "path": path, "size": len(data), "oid": git_blob_sha(data)}
        if _is_lfs(path, len(data)):
            info["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data),
                           "pointerSize": 130}
        return info

    # ------------------------------------------------------------------ routes
    def create_repo(self) -> None:
        payload = json.loads(self._body() or b"{}")
        role = self._role()
        if role in ("anon", "bad"):
            return self._error(401, "Invalid username or password.")
        if role != "write":
            return self._error(403, "You don't have the rights to create a repo")
        if payload.get("type") not in ("dataset", "model", None):
            return self._error(400, "this fake hub only hosts dataset and model repos")
        repo_id = f"{payload.get('organization')}/{payload['name']}"
        if payload.get("type") != "dataset":
            repo_id = MODEL_PREFIX + repo_id
        url = f"{self.hub.url}/{_public(repo_id)}"
        if repo_id in self.hub.repos:
            return self._json(409, {"error": "You already created this dataset repo",
                                    "url": url})
        # huggingface_hub < 2 sends {"private": true}; 2.x {"visibility": "private"}
        private = bool(payload.get("private")) or payload.get("visibility") == "private"
        self.hub.create_repo(repo_id, private=private)
        self._json(200, {"url": url, "name": repo_id})

    def validate_yaml(self) -> None:
        import yaml

        content = json.loads(self._body()).get("content", "")
        m = re.match(r"^---\n(.*?)\n---", content, flags=re.S)
        try:
            yaml.safe_load(m.group(1) if m else "")
        except yaml.YAMLError as err:
            return self._json(400, {"errors": [{"message": str(err)}], "warnings": []})
        self._json(200, {"errors": [], "warnings": []})

    def preupload(self, repo_id: str, rev: str) -> None:
        payload = json.loads(self._body())
        found = self._commit(repo_id, rev, write=True)
        if found is None:
            return
        sha, tree = found
        out = []
        for f in payload["files"]:
            mode = "lfs" if _is_lfs(f["path"], f["size"]) else "regular"
            old = tree.get(f["path"])
            oid = None
            if old is not None:
                oid = hashlib.sha256(old).hexdigest() if mode == "lfs" else git_blob_sha(old)
            out.append({"path": f["path"], "uploadMode": mode, "shouldIgnore": False,
                        "oid": oid})
        self._json(200, {"files": out, "commitOid": sha})

    def lfs_batch(self, repo_id: str) -> None:
        payload = json.loads(self._body())
        if self._repo(repo_id, write=True) is None:
            return
        objects = []
        for obj in payload["objects"]:
            entry = {"oid": obj["oid"], "size": obj["size"]}
            if obj["oid"] not in self.hub.lfs:
                entry["actions"] = {
                    "upload": {"href": f"{self.hub.url}/lfs-upload/{obj['oid']}"},
                    "verify": {"href": f"{self.hub.url}/lfs-verify"},
                }
            objects.append(entry)
        self._json(200, {"transfer": "basic", "objects": objects})

    def lfs_upload(self, oid: str) -> None:
        data = self._body()
        if hashlib.sha256(data).hexdigest() != oid:
            return self._error(400, "uploaded content does not match its oid")
        with self.hub.lock:
            self.hub.lfs[oid] = data
        self._send(200)

    def lfs_verify(self) -> None:
        payload = json.loads(self._body())
        if payload["oid"] not in self.hub.lfs:
            return self._error(404, "object not uploaded")
        self._json(200, {})

    def commit(self, repo_id: str, rev: str) -> None:
        lines = [json.loads(x) for x in self._body().splitlines() if x.strip()]
        if self._repo(repo_id, write=True) is None:
            return
        if rev not in self.hub.repos[repo_id].branches:
            return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
        files: dict[str, bytes] = {}
        deletes = []
        message = ""
        for item in lines:
            key, value = item["key"], item["value"]
            if key == "header":
                message = value.get("summary", "")
            elif key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "lfsFile":
                data = self.hub.lfs.get(value["oid"])
                if data is None:
                    return self._error(400, f"LFS object {value['oid']} was not uploaded")
                files[value["path"]] = data
            elif key in ("deletedFile", "deletedFolder"):
                deletes.append(value["path"])
            else:
                return self._error(400, f"unsupported commit operation {key!r}")
        sha = self.hub.add_commit(repo_id, rev, files, tuple(deletes), message)
        self._json(200, {"commitUrl": f"{self.hub.url}/{_public(repo_id)}/commit/{sha}",
                         "commitOid": sha, "pullRequestUrl": None})

    def create_branch(self, repo_id: str, branch: str) -> None:
        payload = json.loads(self._body() or b"{}")
        repo = self._repo(repo_id, write=True)
        if repo is None:
            return
        if branch in repo.branches:
            return self._error(409, f"Reference already exists: refs/heads/{branch}")
        start = self._rev(repo_id, payload.get("startingPoint") or "main")
        if start is None:
            return
        repo.branches[branch] = start
        self._json(200, {})

    def create_tag(self, repo_id: str, rev: str) -> None:
        payload = json.loads(self._body())
        repo = self._repo(repo_id, write=True)
        if repo is None:
            return
        sha = self._rev(repo_id, rev)
        if sha is None:
            return
        if payload["tag"] in repo.tags:
            return self._error(409, f"Tag {payload['tag']} already exists")
        repo.tags[payload["tag"]] = sha
        self._json(200, {})

    def refs(self, repo_id: str) -> None:
        repo = self._repo(repo_id)
        if repo is None:
            return

        def refs_of(kind: str, names: dict[str, str]) -> list[dict]:
            return [{"name": n, "ref": f"refs/{kind}/{n}", "targetCommit": sha}
                    for n, sha in sorted(names.items())]

        self._json(200, {"branches": refs_of("heads", repo.branches), "converts": [],
                         "tags": refs_of("tags", repo.tags)})

    def info(self, repo_id: str, rev: str = "main") -> None:
        found = self._commit(repo_id, rev)
        if found is None:
            return
        sha, tree = found
        repo = self.hub.repos[repo_id]
        self._json(200, {
            "_id": hashlib.sha1(repo_id.encode()).hexdigest()[:24],
            "id": repo_id.removeprefix(MODEL_PREFIX),
            "author": repo_id.removeprefix(MODEL_PREFIX).split("/")[0], "sha": sha, "private": repo.private,
            "gated": False, "disabled": False, "downloads": 0, "likes": 0, "tags": [],
            "lastModified": "2026-01-01T00:00:00.000Z",
            "createdAt": "2026-01-01T00:00:00.000Z",
            "siblings": [{"rfilename": p} for p in sorted(tree)],
        })

    def paths_info(self, repo_id: str, rev: str) -> None:
        form = parse_qs(self._body().decode())
        found = self._commit(repo_id, rev)
        if found is None:
            return
        _, tree = found
        out = []
        for p in form.get("paths", []):
            if p in tree:
                out.append(self._path_info(p, tree[p]))
            elif any(k.startswith(p.rstrip("/") + "/") for k in tree):
                out.append({"type": "directory", "path": p, "oid": "0" * 40, "size": 0})
        self._json(200, out)

    def tree(self, repo_id: str, rev: str, sub: str = "") -> None:
        found = self._commit(repo_id, rev)
        if found is None:
            return
        _, tree = found
        recursive = self.query.get("recursive", ["false"])[0].lower() in ("1", "true")
        prefix = sub.strip("/") + "/" if sub.strip("/") else ""
        out, dirs = [], set()
        for p, data in sorted(tree.items()):
            if not p.startswith(prefix):
                continue
            rest = p[len(prefix):].split("/")
            for i in range(1, len(rest)):
                d = prefix + "/".join(rest[:i])
                if (recursive or i == 1) and d not in dirs:
                    dirs.add(d)
                    out.append({"type": "directory", "path": d, "oid": "0" * 40, "size": 0})
            if recursive or len(rest) == 1:
                out.append(self._path_info(p, data))
        if prefix and not out:
            return self._error(404, "Entry not found", "EntryNotFound")
        self._json(200, out)

    def resolve_file(self, repo_id: str, rev: str, path: str) -> None:
        found = self._commit(repo_id, rev)
        if found is None:
            return
        sha, tree = found
        if path not in tree:
            return self._error(404, "Entry not found", "EntryNotFound")
        data = tree[path]
        fault = self.hub._take_fault(
            f"{self.command} /{_public(repo_id)}/resolve/{rev}/{path}", kind="corrupt")
        if fault:
            if self.command == "GET":
                self.hub._spend_corrupt(fault)
            if fault.corrupt == "truncate":
                data = data[: len(data) // 2]
            else:
                data = bytes([data[0] ^ 0xFF]) + data[1:-1] + bytes([data[-1] ^ 0xFF])
        etag = (hashlib.sha256(tree[path]).hexdigest() if _is_lfs(path, len(tree[path]))
                else git_blob_sha(tree[path]))
        headers = {"X-Repo-Commit": sha, "ETag": f'"{etag}"', "Accept-Ranges": "bytes"}
        if _is_lfs(path, len(tree[path])):
            headers["X-Linked-Etag"] = f'"{etag}"'
            headers["X-Linked-Size"] = str(len(data))
        status = 200
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng or "")
        if m and self.command == "GET":
            start = int(m.group(1))
            end = int(m.group(2)) if m.group(2) else len(data) - 1
            end = min(end, len(data) - 1)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            data = data[start : end + 1]
            status = 206
        self._send(status, data, headers, content_type="application/octet-stream")


_R = r"([^/]+/[^/]+)"
_ROUTES = [
    (("POST", r"/api/repos/create"), _Handler.create_repo),
    (("POST", r"/api/validate-yaml"), _Handler.validate_yaml),
    (("POST", rf"/api/datasets/{_R}/preupload/(.+)"), _Handler.preupload),
    (("POST", rf"/datasets/{_R}\.git/info/lfs/objects/batch"), _Handler.lfs_batch),
    (("PUT", r"/lfs-upload/([0-9a-f]{64})"), _Handler.lfs_upload),
    (("POST", r"/lfs-verify"), _Handler.lfs_verify),
    (("POST", rf"/api/datasets/{_R}/commit/(.+)"), _Handler.commit),
    (("POST", rf"/api/datasets/{_R}/branch/(.+)"), _Handler.create_branch),
    (("POST", rf"/api/datasets/{_R}/tag/(.+)"), _Handler.create_tag),
    (("GET", rf"/api/datasets/{_R}/refs"), _Handler.refs),
    (("GET", rf"/api/datasets/{_R}/revision/(.+)"), _Handler.info),
    (("GET", rf"/api/datasets/{_R}"), _Handler.info),
    (("POST", rf"/api/datasets/{_R}/paths-info/([^/]+)"), _Handler.paths_info),
    (("GET", rf"/api/datasets/{_R}/tree/([^/]+)/?(.*)"), _Handler.tree),
    (("HEAD", rf"/datasets/{_R}/resolve/([^/]+)/(.+)"), _Handler.resolve_file),
    (("GET", rf"/datasets/{_R}/resolve/([^/]+)/(.+)"), _Handler.resolve_file),
]


def _model(handler):
    """A dataset route's handler serving the model repo of the same name."""
    def serve(self, repo_id: str, *rest):
        return handler(self, MODEL_PREFIX + repo_id, *rest)
    return serve


_ROUTES += [
    (("POST", rf"/api/models/{_R}/preupload/(.+)"), _model(_Handler.preupload)),
    (("POST", rf"/{_R}\.git/info/lfs/objects/batch"), _model(_Handler.lfs_batch)),
    (("POST", rf"/api/models/{_R}/commit/(.+)"), _model(_Handler.commit)),
    (("POST", rf"/api/models/{_R}/branch/(.+)"), _model(_Handler.create_branch)),
    (("POST", rf"/api/models/{_R}/tag/(.+)"), _model(_Handler.create_tag)),
    (("GET", rf"/api/models/{_R}/refs"), _model(_Handler.refs)),
    (("GET", rf"/api/models/{_R}/revision/(.+)"), _model(_Handler.info)),
    (("GET", rf"/api/models/{_R}"), _model(_Handler.info)),
    (("POST", rf"/api/models/{_R}/paths-info/([^/]+)"), _model(_Handler.paths_info)),
    (("GET", rf"/api/models/{_R}/tree/([^/]+)/?(.*)"), _model(_Handler.tree)),
    (("HEAD", rf"/{_R}/resolve/([^/]+)/(.+)"), _model(_Handler.resolve_file)),
    (("GET", rf"/{_R}/resolve/([^/]+)/(.+)"), _model(_Handler.resolve_file)),
]
