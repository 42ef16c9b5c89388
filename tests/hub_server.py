"""A small local Hugging Face Hub-compatible HTTP server for tests.

It speaks just enough of the Hub's HTTP API for *unmodified* ``huggingface_hub`` and ``datasets``
code to create a repo, upload a folder (regular files + legacy LFS "basic" transfer), list it,
download files and ``load_dataset`` it, all without network access. Standard library only: one
``ThreadingHTTPServer`` in a daemon thread; repos, history and blobs live in the ``root`` folder it
is given (``state.json`` + ``objects/<sha256>``), so a new server on the same root sees them again.

Clients must be configured *before* ``huggingface_hub`` is imported (e.g. in a subprocess)::

    HF_ENDPOINT=<server.url>  HF_HUB_DISABLE_XET=1  HF_TOKEN=<any string>  HF_HOME=<tmp dir>
    (and HF_HUB_OFFLINE unset)

Usage::

    server = HubServer(tmp_path / "hub").start()     # or: with HubServer(root) as server:
    server.fail_next("/api/datasets/alice/tiny/commit", 500, count=2)  # count=0 cancels
    ...                                               # run client code
    server.calls                                      # [(method, path), ...] as received
    server.files("alice/tiny")                        # paths at the head of `main`
    server.stop()

Any bearer token is accepted as user "tester", unless ``tokens={token: username}`` is given: then
other tokens get the Hub's 401. Not supported: xet, pull requests, multipart LFS, pagination.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = tuple(
    ".parquet .arrow .bin .safetensors .pt .pth .ckpt .h5 .onnx .npy .npz .pkl .msgpack"
    " .zip .gz .tar .zst .xz .bz2 .png .jpg .wav .mp3".split()
)
LFS_MIN_SIZE = 10 * 1024 * 1024  # bigger files go to LFS whatever their name
GITATTRIBUTES = "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in LFS_SUFFIXES)
API_RE = re.compile(r"^/api/(model|dataset|space)s/([^/]+)/([^/]+)(?:/([^/]+)(?:/(.*))?)?$")
FILE_RE = re.compile(
    r"^/(?:(dataset|space)s/)?([^/]+)/([^/]+?)(\.git/info/lfs/objects/batch|/resolve/)"
)
NO_TOKEN = "Invalid credentials in Authorization header"  # the client keeps this 401 a plain 401


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, **headers: str):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _lfs_pointer(sha256: str, size: int) -> bytes:
    spec = "version https://git-lfs.github.com/spec/v1"
    return f"{spec}\noid sha256:{sha256}\nsize {size}\n".encode()


def _entry(sha256: str, size: int, data: bytes | None = None) -> dict:
    """A file in a commit: regular when its ``data`` is given (oid = git blob sha1), else LFS."""
    blob = data if data is not None else _lfs_pointer(sha256, size)
    oid = hashlib.sha1(b"blob %d\0" % len(blob) + blob).hexdigest()
    return {"sha256": sha256, "size": size, "oid": oid, "lfs": data is None}


def _lfs_info(e: dict, oid_key: str) -> dict:  # tree entries say "oid", repo-info siblings "sha256"
    pointer = _lfs_pointer(e["sha256"], e["size"])
    return {oid_key: e["sha256"], "size": e["size"], "pointerSize": len(pointer)}


class HubServer:
    """Fake Hub: ``HubServer(root).start()`` returns itself; also a context manager."""

    def __init__(self, root: Path | str, host="127.0.0.1", port=0, tokens: dict | None = None):
        self.root, self.tokens = Path(root), tokens
        self.objects = self.root / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)
        self.state_file = self.root / "state.json"
        self.repos = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.RLock()
        self._failures: dict[str, list] = {}  # path prefix -> [status, remaining]
        self._httpd = ThreadingHTTPServer((host, port), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.hub = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HubServer:
        return self if self._thread is not None else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def fail_next(self, prefix: str, status: int = 500, count: int = 1) -> None:
        """Answer the next ``count`` requests whose path starts with ``prefix`` with ``status``.

        Replaces any earlier rule for the same prefix, so ``count=0`` cancels it."""
        with self.lock:
            self._failures[prefix] = [status, count]

    def _take_failure(self, path: str) -> int | None:
        with self.lock:
            for prefix, failure in self._failures.items():
                if path.startswith(prefix) and failure[1] > 0:
                    failure[1] -= 1
                    return failure[0]
        return None

    def files(self, repo_id: str, repo_type="dataset", revision="main") -> list[str]:
        """Paths in the repo at ``revision`` ([] if the repo or the revision does not exist)."""
        with self.lock:
            repo = self.repos.get(f"{repo_type}/{repo_id}")
            try:
                return sorted(repo["commits"][self._resolve(repo, revision)]["files"])
            except (HubError, TypeError):  # no such revision / no such repo
                return []

    # ------------------------------------------------------------------------------ storage
    def _save(self) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.repos, indent=1))
        tmp.replace(self.state_file)

    def _put_object(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not (self.objects / sha).exists():
            tmp = self.objects / f"{sha}.{uuid.uuid4().hex}.tmp"
            tmp.write_bytes(data)
            tmp.replace(self.objects / sha)
        return sha

    def _repo(self, kind: str, repo_id: str, token: str | None) -> dict:
        repo = self.repos.get(f"{kind}/{repo_id}")
        if repo is None or (repo["private"] and not token):
            raise HubError(404 if repo is None else 401, "Repository not found", "RepoNotFound")
        return repo

    def _resolve(self, repo: dict, rev: str) -> str:
        rev = rev.removeprefix("refs/heads/")
        if rev in repo["refs"] or rev in repo["commits"]:
            return repo["refs"].get(rev, rev)
        raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")

    def _commit(self, repo: dict, branch: str, files: dict, title: str, message="") -> str:
        parent = repo["refs"].get(branch)
        seed = json.dumps([parent, files, title, _now(), uuid.uuid4().hex], sort_keys=True)
        sha = hashlib.sha1(seed.encode()).hexdigest()
        commit = {"parent": parent, "title": title, "message": message, "date": _now()}
        repo["commits"][sha] = {**commit, "files": files}
        repo["refs"][branch] = sha
        self._save()
        return sha

    def _last_commit(self, repo: dict, sha: str, path: str) -> dict:
        """The newest commit (from ``sha`` backwards) that changed ``path`` or anything below it."""

        def view(s):
            files = repo["commits"][s]["files"] if s else {}
            return {p: e["oid"] for p, e in files.items() if p == path or p.startswith(prefix)}

        prefix = path + "/" if path else ""
        while (parent := repo["commits"][sha]["parent"]) and view(sha) == view(parent):
            sha = parent
        return {
            "id": sha,
            "title": repo["commits"][sha]["title"],
            "date": repo["commits"][sha]["date"],
        }

    def _path_info(self, repo: dict, sha: str, path: str, expand: bool) -> dict | None:
        files = repo["commits"][sha]["files"]
        if e := files.get(path):
            info = {"type": "file", "oid": e["oid"], "size": e["size"], "path": path}
            if e["lfs"]:
                info["lfs"] = _lfs_info(e, "oid")
        elif any(p.startswith(path + "/") for p in files):
            tree_oid = hashlib.sha1(f"{sha}:{path}".encode()).hexdigest()
            info = {"type": "directory", "oid": tree_oid, "size": 0, "path": path}
        else:
            return None
        if expand:
            info["lastCommit"] = self._last_commit(repo, sha, path)
        return info

    def _tree(self, repo: dict, sha: str, path: str, recursive: bool, expand: bool) -> list[dict]:
        files = repo["commits"][sha]["files"]
        if path in files:  # listing a file gives the file itself
            return [self._path_info(repo, sha, path, expand)]
        prefix = path + "/" if path else ""
        below = [p[len(prefix) :].split("/") for p in files if p.startswith(prefix)]
        if path and not below:
            raise HubError(404, f"{path} does not exist", "EntryNotFound", **{"X-Repo-Commit": sha})
        names = {"/".join(parts[:i]) for parts in below for i in range(1, 1 + len(parts))}
        names = sorted(n for n in names if recursive or "/" not in n)
        entries = [self._path_info(repo, sha, prefix + n, expand) for n in names]
        return sorted(entries, key=lambda e: (e["type"] != "directory", e["path"]))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real Hub; every response has a length

    def log_message(self, format, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self._handle(self.command)

    do_HEAD = do_POST = do_PUT = do_GET

    # ----------------------------------------------------------------------------- plumbing
    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body=b"", ctype="application/json", **headers) -> None:
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        headers = {"Content-Type": ctype, "Content-Length": len(body), **headers}
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), str(value))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self, method: str) -> None:
        hub: HubServer = self.server.hub  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        self.body = self._read_body()
        with hub.lock:
            hub.calls.append((method, split.path))
        auth = self.headers.get("Authorization", "")
        self.token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        status = hub._take_failure(split.path)
        try:
            if status is not None:  # echoes the header, as a misconfigured proxy might
                raise HubError(status, f"Injected failure {status}; refused {auth}")
            if self.token and hub.tokens is not None and self.token not in hub.tokens:
                raise HubError(401, NO_TOKEN)
            self._route(hub, method, split.path)
        except HubError as e:  # huggingface_hub maps X-Error-Code to its exception classes
            headers = {"X-Error-Message": e.message, **e.headers}
            if e.code:
                headers["X-Error-Code"] = e.code
            self._send(e.status, {"error": e.message}, **headers)
        except Exception as e:  # a bug here should surface as a 500, not a hung client
            self._send(500, {"error": f"{type(e).__name__}: {e}"})

    def _flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("1", "true")

    def _user(self) -> str:
        if not self.token:
            raise HubError(401, NO_TOKEN)
        return (self.server.hub.tokens or {}).get(self.token, "tester")  # type: ignore[attr-defined]

    # ------------------------------------------------------------------------------- routes
    def _route(self, hub: HubServer, method: str, path: str) -> None:
        if path == "/api/whoami-v2":
            name, role = self._user(), {"displayName": "test", "role": "write"}
            auth = {"type": "access_token", "accessToken": role}
            return self._send(200, {"type": "user", "name": name, "orgs": [], "auth": auth})
        if path == "/api/agent-harnesses":  # huggingface_hub's agent detection fetches it daily
            return self._send(200, {"standardEnvVars": [], "harnesses": {}})
        if path == "/api/validate-yaml" and method == "POST":
            return self._send(200, {"errors": [], "warnings": []})
        if path == "/api/repos/create" and method == "POST":
            return self._create_repo(hub, json.loads(self.body or b"{}"))
        if path.startswith("/lfs-upload/") and method == "PUT":  # href given by the batch API
            if hashlib.sha256(self.body).hexdigest() != path.rsplit("/", 1)[-1]:
                raise HubError(400, "sha256 of the uploaded content does not match the LFS oid")
            return self._send(200, ETag=f'"{hub._put_object(self.body)}"')
        if m := API_RE.match(path):
            kind, repo_id, action = m[1], f"{m[2]}/{m[3]}", m[4]
            rev, _, rest = (m[5] or "").partition("/")  # revisions come quoted with safe=""
            rev, rest = unquote(rev) or "main", unquote(rest).strip("/")
            with hub.lock:
                repo = hub._repo(kind, repo_id, self.token)
            if action in (None, "revision") and method == "GET":
                return self._repo_info(hub, kind, repo_id, repo, rev)
            if action == "tree" and method == "GET":
                recursive, expand = self._flag("recursive"), self._flag("expand")
                tree = hub._tree(repo, hub._resolve(repo, rev), rest, recursive, expand)
                return self._send(200, tree)
            if action == "paths-info" and method == "POST":
                sha, form = hub._resolve(repo, rev), parse_qs(self.body.decode())  # form-encoded
                expand = form.get("expand", [""])[-1].lower() == "true"
                infos = [
                    hub._path_info(repo, sha, p.strip("/"), expand) for p in form.get("paths", [])
                ]
                return self._send(200, [i for i in infos if i is not None])
            if action == "preupload" and method == "POST":
                return self._preupload(hub, repo, rev)
            if action == "commit" and method == "POST":
                return self._do_commit(hub, kind, repo_id, repo, rev)
            if action == "commits" and method == "GET":
                sha, out = hub._resolve(repo, rev), []
                while sha:
                    c = repo["commits"][sha]
                    info = {k: c[k] for k in ("title", "message", "date")}
                    out.append({"id": sha, "authors": [{"user": "tester"}], **info})
                    sha = c["parent"]
                return self._send(200, out)
            if action == "branch" and method == "POST":
                with hub.lock:
                    if rev in repo["refs"]:
                        raise HubError(409, f"Reference {rev} already exists")
                    start = json.loads(self.body or b"{}").get("startingPoint") or "main"
                    repo["refs"][rev] = hub._resolve(repo, start)
                    hub._save()
                return self._send(200, {})
        if m := FILE_RE.match(path):
            with hub.lock:
                repo = hub._repo(m[1] or "model", f"{m[2]}/{m[3]}", self.token)
            if m[4].startswith(".git") and method == "POST":
                return self._lfs_batch(hub)
            rev, _, file = path[m.end() :].partition("/")
            if m[4] == "/resolve/" and method in ("GET", "HEAD") and file:
                return self._resolve_file(hub, repo, unquote(rev), unquote(file))
        raise HubError(404, f"Not implemented by the test hub: {method} {path}")

    def _create_repo(self, hub: HubServer, payload: dict) -> None:
        kind = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or self._user()}/{payload['name']}"
        url = f"{hub.url}/{'' if kind == 'model' else kind + 's/'}{repo_id}"
        visibility = payload.get("visibility", "private" if payload.get("private") else "public")
        with hub.lock:
            if f"{kind}/{repo_id}" in hub.repos:  # the client reads `url` even from a 409
                error = f"You already created this {kind} repo"
                return self._send(409, {"error": error, "url": url}, X_Error_Message=error)
            repo = {
                "private": visibility != "public",
                "createdAt": _now(),
                "refs": {},
                "commits": {},
            }
            hub.repos[f"{kind}/{repo_id}"] = repo
            data = GITATTRIBUTES.encode()  # like the Hub, start with one commit
            files = {".gitattributes": _entry(hub._put_object(data), len(data), data)}
            hub._commit(repo, "main", files, "initial commit")
        self._send(200, {"url": url, "name": repo_id, "id": repo_id})

    def _repo_info(self, hub: HubServer, kind: str, repo_id: str, repo: dict, rev: str) -> None:
        sha = hub._resolve(repo, rev)
        commit, siblings = repo["commits"][sha], []
        for path, e in sorted(commit["files"].items()):
            siblings.append({"rfilename": path})
            if self._flag("blobs"):
                siblings[-1].update(size=e["size"], blobId=e["oid"])
                if e["lfs"]:
                    siblings[-1]["lfs"] = _lfs_info(e, "sha256")
        info = {"id": repo_id, "author": repo_id.split("/")[0], "sha": sha, "tags": []}
        info.update(private=repo["private"], gated=False, disabled=False, siblings=siblings)
        info.update(createdAt=repo["createdAt"], lastModified=commit["date"])
        self._send(200, {**info, "modelId": repo_id} if kind == "model" else info)

    def _preupload(self, hub: HubServer, repo: dict, rev: str) -> None:
        sha = hub._resolve(repo, rev)
        out = []
        for f in json.loads(self.body)["files"]:
            binary = b"\0" in base64.b64decode(f.get("sample", ""))
            lfs = binary or f["size"] >= LFS_MIN_SIZE or f["path"].lower().endswith(LFS_SUFFIXES)
            old = repo["commits"][sha]["files"].get(f["path"])  # its oid lets the client skip it
            oid = old and (old["sha256"] if old["lfs"] else old["oid"])
            mode = "lfs" if lfs else "regular"
            out.append({"path": f["path"], "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        self._send(200, {"files": out, "commitOid": sha})

    def _lfs_batch(self, hub: HubServer) -> None:
        req = json.loads(self.body)
        if req.get("operation") != "upload":
            raise HubError(400, "only the LFS 'upload' operation is supported")
        objects = []
        for obj in req["objects"]:
            objects.append({"oid": obj["oid"], "size": obj["size"], "authenticated": True})
            if not (hub.objects / obj["oid"]).exists():  # no "actions": already stored, skip it
                upload = {"href": f"{hub.url}/lfs-upload/{obj['oid']}"}
                objects[-1]["actions"] = {"upload": upload}
        body = {"transfer": "basic", "objects": objects}
        self._send(200, body, ctype="application/vnd.git-lfs+json")

    def _do_commit(self, hub: HubServer, kind: str, repo_id: str, repo: dict, rev: str) -> None:
        if self._flag("create_pr"):
            raise HubError(400, "create_pr is not supported by the test hub")
        lines = [json.loads(line) for line in self.body.splitlines() if line.strip()]
        header = next((item["value"] for item in lines if item["key"] == "header"), {})
        with hub.lock:
            branch = rev.removeprefix("refs/heads/")
            if branch not in repo["refs"]:
                raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            head = repo["refs"][branch]
            if header.get("parentCommit") not in (None, head):
                raise HubError(412, "A commit has happened since. Please refresh and try again.")
            files = dict(repo["commits"][head]["files"])
            for item in lines:
                key, value = item["key"], item["value"]
                path = value.get("path", "").strip("/")
                if key == "file":
                    data = value["content"].encode()
                    data = base64.b64decode(data) if value.get("encoding") == "base64" else data
                    files[path] = _entry(hub._put_object(data), len(data), data)
                elif key == "lfsFile":
                    sha256, obj = value["oid"], hub.objects / value["oid"]
                    if not re.fullmatch(r"[0-9a-f]{64}", sha256) or not obj.exists():
                        raise HubError(422, f"LFS object {sha256} for {path} was never uploaded")
                    files[path] = _entry(sha256, obj.stat().st_size)
                elif key == "deletedFile":
                    if files.pop(path, None) is None:
                        raise HubError(404, "A file with this name doesn't exist", "EntryNotFound")
                elif key == "deletedFolder":
                    files = {p: e for p, e in files.items() if not p.startswith(path + "/")}
                elif key != "header":
                    raise HubError(400, f"Unsupported commit operation: {key}")
            title, message = header.get("summary", ""), header.get("description", "")
            sha = hub._commit(repo, branch, files, title, message)
        url = f"{hub.url}/{'' if kind == 'model' else kind + 's/'}{repo_id}/commit/{sha}"
        self._send(
            200, {"success": True, "commitOid": sha, "commitUrl": url, "pullRequestUrl": None}
        )

    def _resolve_file(self, hub: HubServer, repo: dict, rev: str, path: str) -> None:
        with hub.lock:
            sha = hub._resolve(repo, rev)
            e = repo["commits"][sha]["files"].get(path)
        if e is None:
            raise HubError(404, "Entry not found", "EntryNotFound", **{"X-Repo-Commit": sha})
        size, etag = e["size"], f'"{e["sha256"] if e["lfs"] else e["oid"]}"'
        headers = {"X-Repo-Commit": sha, "ETag": etag, "Accept-Ranges": "bytes"}
        if e["lfs"]:  # what the Hub sends on its redirect to the LFS storage
            headers.update({"X-Linked-Etag": etag, "X-Linked-Size": size})
        data, status = (hub.objects / e["sha256"]).read_bytes(), 200
        if m := re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").replace(" ", "")):
            if m[1]:
                start, end = int(m[1]), min(int(m[2] or size - 1), size - 1)
            else:  # suffix range: the last N bytes
                start, end = max(size - int(m[2] or 0), 0), size - 1
            if start >= size or start > end:
                raise HubError(416, "Range Not Satisfiable", **{"Content-Range": f"bytes */{size}"})
            data, status = data[start : end + 1], 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self._send(status, data, "application/octet-stream", **headers)
