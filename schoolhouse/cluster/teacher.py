"""A teacher on a Ray cluster: `--actors` Ray actors, each holding one teacher for its lifetime.

    teacher = RayTeacher(resolve_teacher("embedded"), {"kv_cache_gib": 2}, actors=4)
    for completion in teacher.generate(requests): ...     # as any teacher, in finishing order

An actor opens its engine (in-process vLLM on its node's GPU or CPU, or a client to a server)
once, when the pool starts, never per request. Requests go to the actors in chunks, two queued
per actor, and each completion streams back to the driver the moment it finishes. Generation and
annotation take this teacher unchanged (`jobs.opener_for` opens it under `--runner ray`), so
their journal, resume and rows are the local run's: the driver writes every row, and a killed
job resumes with the same command, asking only for what has no row. The same request samples
the same text on any actor (its seed is in the request).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from itertools import islice

import ray

from ..teacher import Completion, Request, TeacherError, TeacherSpec
from . import connect

CHUNK = 128  # requests per actor call; each completion streams back the moment it finishes
IN_FLIGHT = 2  # calls queued per actor: the next chunk starts as soon as one ends


@ray.remote(max_restarts=2, max_task_retries=2)
class TeacherActor:
    def __init__(self, spec: TeacherSpec, options: dict):
        self.teacher = spec.open(**options)

    def name(self) -> str:
        return self.teacher.name

    def generate(self, requests: list[Request]) -> Iterator[Completion]:
        yield from self.teacher.generate(requests)  # streamed: each as it finishes

    def close(self) -> None:
        self.teacher.close()


class RayTeacher:
    def __init__(self, spec: TeacherSpec, options: dict, actors: int = 1):
        connect()
        gpus = ray.cluster_resources().get("GPU", 0)
        # an engine takes a GPU where the cluster has them; a client or a CPU engine one CPU slot
        resources = {"num_gpus": 1} if gpus and spec.kind != "http" else {"num_cpus": 1}
        self.actors = [TeacherActor.options(**resources).remote(spec, options)
                       for _ in range(actors)]  # fmt: skip
        try:
            names = ray.get([a.name.remote() for a in self.actors])  # the engines are up
        except ray.exceptions.RayError as e:
            self.close()
            raise TeacherError(f"a teacher actor failed to start on the cluster: {e}") from None
        self.name = names[0]

    def generate(self, requests: Iterable[Request]) -> Iterator[Completion]:
        source = iter(requests)
        streams: dict = {}  # a call's stream of completions -> the actor it runs on
        seen: set[str] = set()  # a retried call (its actor restarted) streams its chunk again

        def send(actor) -> None:
            chunk = list(islice(source, CHUNK))
            if chunk:
                streams[actor.generate.options(num_returns="streaming").remote(chunk)] = actor

        for actor in self.actors:
            for _ in range(IN_FLIGHT):
                send(actor)
        while streams:
            ready, _ = ray.wait(list(streams), num_returns=1)
            try:
                completion = ray.get(next(ready[0]))
            except StopIteration:
                send(streams.pop(ready[0]))
                continue
            except ray.exceptions.RayError as e:
                raise TeacherError(f"a teacher actor failed: {e}") from None
            if completion.request_id not in seen:
                seen.add(completion.request_id)
                yield completion

    def close(self) -> None:
        for actor in self.actors:
            with contextlib.suppress(Exception):  # a dead actor has nothing left to close
                ray.get(actor.close.remote(), timeout=60)
            ray.kill(actor)
        self.actors = []
