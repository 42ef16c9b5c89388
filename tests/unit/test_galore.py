"""GaLore's AdamW: plain groups are torch's AdamW, projected groups keep low-rank moments whose
updates stay in the gradient's top singular subspace, and a checkpoint resumes bit for bit."""

from __future__ import annotations

import io

import pytest
import torch

from schoolhouse.student.galore import GaLoreAdamW, galore_groups, state_bytes
from schoolhouse.student.model import ModelArgs, Transformer


def grads(seed: int, *shapes) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g) for s in shapes]


def test_a_group_without_rank_is_torch_s_adamw():
    a = [torch.nn.Parameter(t) for t in grads(0, (6, 4), (4,))]
    b = [torch.nn.Parameter(t.detach().clone()) for t in a]
    ours = GaLoreAdamW(a, lr=0.01, betas=(0.9, 0.95), weight_decay=0.1)
    theirs = torch.optim.AdamW(b, lr=0.01, betas=(0.9, 0.95), weight_decay=0.1)
    for step in range(5):
        for p, q, g in zip(a, b, grads(step + 1, (6, 4), (4,)), strict=True):
            p.grad, q.grad = g.clone(), g.clone()
        ours.step()
        theirs.step()
    for p, q in zip(a, b, strict=True):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(12, 8), (8, 12)])
def test_projected_moments_are_low_rank_and_updates_stay_in_the_subspace(shape):
    rank = 3
    weight = torch.nn.Parameter(torch.zeros(shape))
    opt = GaLoreAdamW([{"params": [weight], "rank": rank, "update_gap": 10, "scale": 1.0}], lr=0.1)
    (g,) = grads(0, shape)
    weight.grad = g
    opt.step()
    state = opt.state[weight]
    m, n = shape
    small = (m, rank) if m >= n else (rank, n)
    assert state["exp_avg"].shape == small and state["exp_avg_sq"].shape == small
    # the moved weight has no component outside the gradient's top-3 singular subspace
    u, _, vh = torch.linalg.svd(g)
    basis = vh[:rank].T @ vh[:rank] if m >= n else u[:, :rank] @ u[:, :rank].T
    moved = weight.detach()
    outside = moved - (moved @ basis if m >= n else basis @ moved)
    assert outside.abs().max() < 1e-5 and moved.abs().max() > 0.01
    assert state_bytes(opt) == 4 * (2 * rank * max(shape) + rank * min(shape) + 1)


def test_the_projection_is_refreshed_every_update_gap_steps():
    weight = torch.nn.Parameter(torch.zeros(10, 6))
    opt = GaLoreAdamW([{"params": [weight], "rank": 2, "update_gap": 3, "scale": 1.0}], lr=0.1)
    seen = []
    for step in range(7):
        (weight.grad,) = grads(step, (10, 6))
        opt.step()
        seen.append(opt.state[weight]["projection"].clone())
    changed = [not torch.equal(seen[i], seen[i - 1]) for i in range(1, 7)]
    assert changed == [False, False, True, False, False, True]  # at steps 3 and 6


def tiny_model() -> Transformer:
    torch.manual_seed(0)
    return Transformer(ModelArgs(dim=32, n_layers=2, n_heads=2, vocab_size=64, max_seq_len=16))


def train(model, opt, steps: range) -> list[float]:
    losses = []
    for step in steps:
        g = torch.Generator().manual_seed(step)
        x = torch.randint(0, 64, (4, 16), generator=g)
        loss = model(x, x)[1]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_groups_put_the_block_matrices_under_galore_and_shrink_the_state():
    model = tiny_model()
    groups = galore_groups(model, rank=8, weight_decay=0.1)
    low_rank = {id(p) for p in groups[0]["params"]}
    names = [n for n, p in model.named_parameters() if id(p) in low_rank]
    assert names and all(n.startswith("layers.") and n.endswith(".weight") for n in names)
    assert not any("norm" in n for n in names) and "tok_embeddings.weight" not in names
    galore = GaLoreAdamW(groups, lr=1e-2)
    train(model, galore, range(2))
    reference = tiny_model()
    plain = torch.optim.AdamW(reference.parameters(), lr=1e-2)
    train(reference, plain, range(2))
    assert state_bytes(galore) < 0.75 * state_bytes(plain)


def test_it_learns_and_a_checkpoint_resumes_bit_for_bit_with_weights_only_load():
    straight = tiny_model()
    opt = GaLoreAdamW(galore_groups(straight, 8, 0.1, update_gap=4), lr=1e-2)
    losses = train(straight, opt, range(12))
    assert sum(losses[-3:]) / 3 < losses[0] - 0.3  # it learns the copy task

    first = tiny_model()
    opt = GaLoreAdamW(galore_groups(first, 8, 0.1, update_gap=4), lr=1e-2)
    train(first, opt, range(6))
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "optimizer": opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)  # tensors and plain values only
    resumed = tiny_model()
    resumed.load_state_dict(saved["model"])
    opt = GaLoreAdamW(galore_groups(resumed, 8, 0.1, update_gap=4), lr=1e-2)
    opt.load_state_dict(saved["optimizer"])
    train(resumed, opt, range(6, 12))
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(a, b)
