"""Data-parallel training across processes, as `torchrun` starts them.

    torchrun --nproc_per_node 8 -m schoolhouse.cli pretrain --preset small --data ... --out ...

Every rank draws its own batches (the rank is part of each batch's seed), gradients are averaged
by DistributedDataParallel, and only rank 0 writes: tokenizer, token cache, log, checkpoints and
report. Without torchrun's environment this is a single process and costs nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def mean(self, value):
        """The mean of a scalar tensor over all ranks (itself when alone)."""
        if self.world > 1:
            import torch.distributed as dist

            dist.all_reduce(value, op=dist.ReduceOp.SUM)
            value = value / self.world
        return value

    def close(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.destroy_process_group()


def start(device: str) -> tuple[Ranks, str]:
    """Join torchrun's process group if there is one; return the ranks and this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Ranks(), device
    import torch
    import torch.distributed as dist

    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    gpu = device != "cpu" and torch.cuda.is_available()
    if gpu:
        device = f"cuda:{local}"
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if gpu else "gloo")
    return Ranks(rank, world, local), device
