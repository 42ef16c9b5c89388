"""The same jobs on a Ray cluster (`--runner ray`): the same folders, the same kept ids.

    ray start --head                          # or an existing cluster
    export RAY_ADDRESS=auto                   # Ray's own convention (host:port, ray://...)
    schoolhouse filter web/ --out out/web-edu --classifier out/edu-clf --dedup exact,minhash \\
        --runner ray --workers 8
    schoolhouse generate stories -n 100000 --out out/stories --runner ray --actors 4
    schoolhouse annotate web/ -n 5000 --out out/annotations --runner ray --actors 2

- `webfilter.py`: the filter's judging on Ray actors, near-dedup in stages (fingerprints per
  shard, collision keys shuffled by hash, the sequential pass over the candidates only).
- `teacher.py`: a teacher whose requests run on a pool of Ray actors, each holding one engine
  (or HTTP client) for its lifetime; generation and annotation take it unchanged, so their
  journals, resume and rows are the local run's.

The process that runs the command (the driver) reads every result and writes every output row,
so an output folder has one writer and a killed job resumes with the same command. Workers read
the inputs: on a cluster of several machines, inputs and `--classifier` must be on a filesystem
every node mounts at the same path (the compose `ray` profile's `/data` volume), and every node
runs the same schoolhouse (the worker image). Paths are made absolute before they are sent.
"""

from __future__ import annotations

import os
import socket

ADDRESS = "RAY_ADDRESS"
HOW = ("start one with `ray start --head` and `export RAY_ADDRESS=auto`, or set "
       "RAY_ADDRESS=local for a private one-machine cluster")  # fmt: skip


class ClusterError(RuntimeError):
    """No Ray cluster can be reached; nothing was started."""


def connect() -> None:
    """Join the cluster RAY_ADDRESS names, once per process; a one-line error when none answers
    (within seconds: Ray alone retries an unreachable address for minutes)."""
    import ray

    if ray.is_initialized():
        return
    address = os.environ.get(ADDRESS, "").strip()
    if not address:
        raise ClusterError(f"--runner ray: {ADDRESS} is not set: {HOW}")
    _probe(address)
    import logging

    try:
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False,
                 configure_logging=True)  # fmt: skip
    except ConnectionError as e:
        raise ClusterError(
            f"--runner ray: no Ray cluster at {ADDRESS}={address} ({str(e).splitlines()[0]}): {HOW}"
        ) from None


def _probe(address: str) -> None:
    """A host:port address must accept a TCP connection before Ray is asked to join it."""
    if address in ("auto", "local") or "://" in address or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            return
    except (OSError, ValueError) as e:
        raise ClusterError(
            f"--runner ray: no Ray cluster at {ADDRESS}={address} ({e}): {HOW}"
        ) from None


def absolute(path):
    """`path` as every node must see it (workers do not share the driver's working folder)."""
    return None if path is None else type(path)(os.path.abspath(path))


def absolute_paths(config):
    """A copy of a config with every path field (and list of paths) made absolute."""
    from pathlib import Path

    update = {}
    for name, value in config:
        if isinstance(value, Path):
            update[name] = absolute(value)
        elif isinstance(value, list) and value and all(isinstance(v, Path) for v in value):
            update[name] = [absolute(v) for v in value]
    return config.model_copy(update=update)
