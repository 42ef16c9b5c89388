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


def reference_model(config, tokenizer, device: str):
    """Rho-1's scorer: the --reference-model run, frozen, or None."""
    if config.reference_model is None:
        return None
    from . import checkpoint as ckpt
    from .model import ModelArgs, Transformer
    from .tokenizer import Tokenizer

    state = ckpt.load(config.reference_model, map_location=device)
    if Tokenizer.from_str(state["tokenizer"]).hash != tokenizer.hash:
        raise ckpt.CheckpointError(
            f"--reference-model {config.reference_model} has another tokenizer than {config.out}: "
            "a Rho-1 run scores tokens with its reference's tokenizer; use a new --out"
        )
    args = ModelArgs(**state["model_args"])
    if args.max_seq_len < config.seq_len:
        raise ckpt.CheckpointError(
            f"--reference-model {config.reference_model} reads {args.max_seq_len} tokens at a "
            f"time, fewer than --seq-len {config.seq_len}"
        )
    model = Transformer(args).to(device)
    model.load_state_dict(state["model"])
    model.eval().requires_grad_(False)
    return model
