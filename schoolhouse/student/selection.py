"""Rho-1's selective language modelling (Lin et al. 2024, arXiv 2404.07965): not every token is
worth training on.

A reference model trained on high-quality text scores every token of a batch; the tokens whose
loss under the model being trained most exceeds the reference's are the ones it can still learn
and that high-quality text says are learnable. The loss is the mean over the top `share` of the
batch's tokens by that excess; the rest (noise both find hard, text both already know) get no
gradient.

    pretrain --data web/ --reference-model runs/ref --select-tokens 0.6 --out runs/rho1

The reference must share the tokenizer: a run with `--reference-model` uses the reference run's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def token_losses(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of every target token, shaped like `targets`."""
    flat = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1),
                           reduction="none")  # fmt: skip
    return flat.view_as(targets)


def select_tokens(losses: torch.Tensor, reference: torch.Tensor, share: float) -> torch.Tensor:
    """A boolean mask of the `share` of tokens (at least one) with the highest excess loss,
    `losses - reference`; ties go to the earlier token."""
    excess = (losses.detach() - reference).flatten()
    k = max(1, round(share * excess.numel()))
    order = torch.argsort(-excess, stable=True)
    mask = torch.zeros(excess.numel(), dtype=torch.bool, device=losses.device)
    mask[order[:k]] = True
    return mask.view_as(losses)


def selective_loss(
    logits: torch.Tensor, targets: torch.Tensor, reference_logits: torch.Tensor, share: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the mean loss over the selected tokens, the loss over every token, detached)."""
    losses = token_losses(logits, targets)
    with torch.no_grad():
        reference = token_losses(reference_logits, targets)
    mask = select_tokens(losses, reference, share)
    return losses[mask].mean(), losses.detach().mean()
