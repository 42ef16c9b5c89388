"""Rho-1's token selection on hand-made batches, and a pretrain run that uses it."""

from __future__ import annotations

import pytest
import torch

from schoolhouse.student.selection import select_tokens, selective_loss, token_losses


def test_the_tokens_with_the_highest_excess_loss_are_kept():
    losses = torch.tensor([[2.0, 5.0, 1.0], [4.0, 0.5, 3.0]])
    reference = torch.tensor([[1.9, 1.0, 3.0], [1.0, 0.4, 2.9]])
    # excess:               0.1  4.0 -2.0     3.0  0.1  0.1
    mask = select_tokens(losses, reference, share=0.5)
    assert mask.tolist() == [[True, True, False], [True, False, False]]  # 4.0, 3.0, then the
    # first of the three tied at 0.1
    assert select_tokens(losses, reference, 0.01).sum() == 1  # at least one token
    assert select_tokens(losses, reference, 1.0).all()


def test_hard_noise_and_known_text_get_no_gradient():
    torch.manual_seed(0)
    targets = torch.tensor([[1, 2, 3, 0]])
    logits = torch.zeros(1, 4, 5, requires_grad=True)  # uniform: every token costs ln 5
    reference = torch.zeros(1, 4, 5)
    reference[0, 0, 1] = 10.0  # the reference finds token 0 easy: worth learning
    reference[0, 1, 2] = -10.0  # token 1 hard for it too: noise, skip it
    reference[0, 2, 3] = 10.0  # token 2 easy for the reference too
    loss, every = selective_loss(logits, targets, reference, share=0.5)
    loss.backward()
    moved = logits.grad.abs().sum(-1)[0]
    assert moved[0] > 0 and moved[2] > 0 and moved[1] == 0 and moved[3] == 0
    assert every.item() == pytest.approx(token_losses(logits, targets).mean().item())
