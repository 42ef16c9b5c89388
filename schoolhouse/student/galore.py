"""GaLore: AdamW whose moments live in a low-rank projection of each matrix's gradient.

    opt = GaLoreAdamW(galore_groups(model, rank=128, weight_decay=0.1), lr=1e-3)

Zhao et al. 2024 (arXiv 2403.03507): for an m x n weight (m >= n) the gradient G is projected
onto its top-r right singular vectors, R = G P^T with P (r x n) from an SVD of G recomputed
every `update_gap` steps; Adam's two moments are kept for R (m x r) instead of G (m x n), and
the normalised update is projected back, scale * (update) P. For m < n the left singular
vectors are used, so the moments are always the smaller side. Optimizer state for such a
matrix falls from 2mn to 2mr + rn numbers. Vectors (norms) and the embedding matrix (tied to
the output head, its rows are tokens, not features) keep plain AdamW, as in the paper, which
applies GaLore to the attention and feed-forward matrices.

The same algorithm as the reference implementation (PyPI `galore-torch` 1.0, `GaLoreAdamW` with
`proj_type="std"`), with three differences:
- every piece of state is a tensor (moments, projection, step), so a checkpoint loads with
  `torch.load(weights_only=True)` and resumes bit for bit; the reference keeps a Python
  projector object in the state, which such a load refuses;
- decoupled weight decay is applied to the weights before the update, as `torch.optim.AdamW`
  does (the reference decays the already-updated weights);
- it needs no bitsandbytes (the reference package imports it at import time).
Moments are not reset when the projection changes, as in the reference and the paper.
"""

from __future__ import annotations

import torch


def galore_groups(model: torch.nn.Module, rank: int, weight_decay: float, update_gap: int = 200,
                  scale: float = 0.25) -> list[dict]:  # fmt: skip
    """Parameter groups: the blocks' matrices under GaLore, the rest under plain AdamW
    (matrices decayed, vectors not)."""
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    low_rank, matrices, vectors = [], [], []
    for p in model.parameters():
        if p.dim() < 2:
            vectors.append(p)
        elif id(p) in embeddings or min(p.shape) <= rank:
            matrices.append(p)
        else:
            low_rank.append(p)
    groups = [
        {"params": low_rank, "weight_decay": weight_decay, "rank": rank,
         "update_gap": update_gap, "scale": scale},
        {"params": matrices, "weight_decay": weight_decay},
        {"params": vectors, "weight_decay": 0.0},
    ]  # fmt: skip
    return [g for g in groups if g["params"]]


def projection(grad: torch.Tensor, rank: int) -> torch.Tensor:
    """The top-`rank` singular vectors of `grad` on its smaller side: P (rank x n) when m >= n,
    else P (m x rank)."""
    u, _, vh = torch.linalg.svd(grad.float(), full_matrices=False)
    return vh[:rank] if grad.shape[0] >= grad.shape[1] else u[:, :rank]


def project(grad: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return grad @ p.T if grad.shape[0] >= grad.shape[1] else p.T @ grad


def project_back(update: torch.Tensor, p: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    return update @ p if shape[0] >= shape[1] else p @ update


class GaLoreAdamW(torch.optim.Optimizer):
    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):  # fmt: skip
        if lr < 0 or eps < 0 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"GaLoreAdamW: lr {lr}, betas {betas}, eps {eps} out of range")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps,
                                  "weight_decay": weight_decay})  # fmt: skip

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            rank = group.get("rank")
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = param.grad.float()
                state = self.state[param]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                step = int(state["step"].item())
                if rank is not None:
                    if step % group["update_gap"] == 0:
                        state["projection"] = projection(grad, rank).to(grad.dtype)
                    grad = project(grad, state["projection"])
                if "exp_avg" not in state:
                    state["exp_avg"] = torch.zeros_like(grad)
                    state["exp_avg_sq"] = torch.zeros_like(grad)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                step += 1
                state["step"].fill_(step)
                exp_avg.lerp_(grad, 1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                bias1, bias2 = 1 - beta1**step, 1 - beta2**step
                update = (exp_avg / bias1) / (exp_avg_sq.div(bias2).sqrt_().add_(group["eps"]))
                if rank is not None:
                    update = project_back(update, state["projection"], param.shape)
                    update = update * group["scale"]
                if group["weight_decay"]:
                    param.mul_(1 - group["lr"] * group["weight_decay"])
                param.add_(update.to(param.dtype), alpha=-group["lr"])
        return loss


def state_bytes(opt: torch.optim.Optimizer) -> int:
    """Bytes the optimizer's state tensors hold: moments, projections and steps."""
    return sum(
        t.numel() * t.element_size()
        for s in opt.state.values()
        for t in s.values()
        if isinstance(t, torch.Tensor)
    )
