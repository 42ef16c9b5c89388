"""Publish a finished dataset folder to the Hugging Face Hub.

    schoolhouse publish out/stories --repo alice/tiny-stories-synth [--private] [--revision main]

The folder is checked first (a card with `configs`, readable Parquet shards, no unfinished
journal); the token comes from `HF_TOKEN` or the login cache and is never printed. Shards, card
and config go up in one commit, so a reader never sees half a dataset; the private resume state
stays home. An interrupted upload is retried with backoff, and a rerun finishes it: shards the
Hub already holds are not sent again, and the commit replaces files instead of adding copies.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from .folder import STATE

REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
PUBLISHED = ["README.md", "config.json", "data/*.parquet", "rejected/*.parquet"]
RETRY_STATUS = {408, 429, 500, 502, 503, 504}


class PublishError(ValueError):
    """The folder, repo name or token cannot be published; nothing was uploaded."""


def check_repo(repo: str) -> str:
    if not REPO.match(repo) or ".." in repo or repo.endswith((".git", ".")):
        raise PublishError(f"--repo {repo!r} is not OWNER/NAME (letters, digits, '-', '_', '.')")
    return repo


def check_folder(folder: Path) -> list[Path]:
    """The files to publish; raises naming the file when the folder is not a finished dataset."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PublishError(f"{folder} is not a folder")
    card = folder / "README.md"
    if not card.is_file():
        raise PublishError(f"{folder} has no dataset card (README.md): is it a dataset folder?")
    text = card.read_text(encoding="utf-8")
    if not text.startswith("---\n") or "\nconfigs:" not in text.split("\n---", 2)[0] + "\n":
        raise PublishError(f"{card} has no YAML header with `configs`; regenerate the folder")
    if list((folder / STATE).glob("journal-*.jsonl")):
        raise PublishError(f"{folder} holds an unfinished run: rerun its generate command first")
    shards = sorted(folder.glob("data/*.parquet")) + sorted(folder.glob("rejected/*.parquet"))
    if not shards:
        raise PublishError(f"{folder} has no Parquet shards under data/ or rejected/")
    for shard in shards:
        try:
            pq.read_metadata(shard)
        except Exception as e:  # pyarrow raises several types for a damaged file
            raise PublishError(f"{shard} is not a readable Parquet file ({e})") from None
    extra = [folder / "config.json"] if (folder / "config.json").is_file() else []
    return [card, *extra, *shards]


def resolve_token(token: str | None = None) -> str:
    from huggingface_hub import get_token

    token = token or get_token()
    if not token:
        raise PublishError("no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    return token


def redact(text: str, *secrets: str | None) -> str:
    """`text` without the token: any of `secrets` (the one in use, HF_TOKEN), an `hf_...`
    token, or the credentials after `Bearer`, which a server may echo in an error."""
    for secret in {*secrets, os.environ.get("HF_TOKEN")}:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    text = re.sub(r"(?i)\b(bearer)\s+[^\s'\",;]+", r"\1 ***", text)
    return re.sub(r"\bhf_[A-Za-z0-9]{8,}", "hf_***", text)


class PublishFailed(Exception):
    """The Hub failed after the retries; the message is redacted."""


def with_retries(call: Callable, retries: int = 5, backoff: float = 2.0, log=print):
    """Retry rate limits, server errors and dropped connections with exponential backoff."""
    from huggingface_hub.errors import HfHubHTTPError

    for attempt in range(retries + 1):
        try:
            return call()
        except (HfHubHTTPError, OSError) as e:
            response = getattr(e, "response", None)
            status = getattr(response, "status_code", None)
            transient = status in RETRY_STATUS or (status is None and isinstance(e, OSError))
            if not transient or attempt == retries:
                raise
            wait = backoff * 2**attempt
            log(f"the Hub answered {status or type(e).__name__}; retrying in {wait:.0f} s")
            time.sleep(wait)


def publish(
    folder: Path,
    repo: str,
    *,
    private: bool = False,
    revision: str | None = None,
    token: str | None = None,
    retries: int = 5,
    backoff: float = 2.0,
    log=print,
) -> str:
    """Upload the folder as a dataset repo; return the commit URL. Errors from the Hub come
    back as PublishFailed, and every message and log line is redacted (`redact`)."""
    folder = Path(folder)
    check_repo(repo)
    files = check_folder(folder)
    token = resolve_token(token)
    try:
        return _publish(
            folder, files, repo, private, revision, token, retries, backoff,
            lambda message: log(redact(message, token)),
        )  # fmt: skip
    except PublishError as e:
        raise PublishError(redact(str(e), token)) from None
    except Exception as e:  # the Hub's errors after retries; `from None`: no unredacted cause
        raise PublishFailed(redact(describe(e), token)) from None


def describe(error: Exception) -> str:
    """The error in one line, with the Hub's own message: huggingface_hub puts it on a line
    after its summary ("Bad request:"), where a one-line report would lose it."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    summary = lines[0] if lines else ""
    server = "; ".join(
        line.strip() for line in (getattr(error, "server_message", None) or "").splitlines()
        if line.strip()
    )  # fmt: skip
    if server and server.lower() not in summary.lower():
        summary = f"{summary.rstrip(':.')}: {server}" if summary else server
    return f"{type(error).__name__}: {summary}"


def _publish(folder, files, repo, private, revision, token, retries, backoff, log) -> str:
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(token=token)
    try:
        user = api.whoami()["name"]
    except HfHubHTTPError as e:
        status = getattr(e.response, "status_code", None)
        if status == 401:
            raise PublishError(
                "the Hub refused the token (401): check HF_TOKEN or log in again"
            ) from None
        raise
    log(f"publishing {len(files)} files from {folder} to {repo} as {user}")
    with_retries(
        lambda: api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True),
        retries,
        backoff,
        log,
    )
    if revision and revision != "main":
        with_retries(
            lambda: api.create_branch(repo, branch=revision, repo_type="dataset", exist_ok=True),
            retries,
            backoff,
            log,
        )
    commit = with_retries(
        lambda: api.upload_folder(
            folder_path=str(folder),
            repo_id=repo,
            repo_type="dataset",
            revision=revision,
            allow_patterns=PUBLISHED,
            ignore_patterns=[f"{STATE}/*"],
            commit_message=f"Publish {folder.name} with schoolhouse",
        ),
        retries,
        backoff,
        log,
    )
    return str(getattr(commit, "commit_url", commit))
