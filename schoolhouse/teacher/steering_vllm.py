"""vLLM's logits-processor interface over the steering state (`steering.py`).

    LLM(model, logits_processors=[LexicalSteering])                       # in-process
    python -m vllm.entrypoints.openai.api_server ... \\
        --logits-processors schoolhouse.teacher.steering_vllm:LexicalSteering   # a server

This is the interface of vLLM's V1 model runner (`vllm/v1/sample/logits_processor/
interface.py`), which the CPU build always runs. The CUDA build would pick its new model runner,
whose processors have another shape: the engine and `teacher serve` pin the V1 runner with
`VLLM_USE_V2_MODEL_RUNNER=0` (`STEERING_ENV`) wherever steering is on.

A request without steering arguments costs nothing; a request with them gets one `RowState`,
created when it joins the batch and dropped when it leaves.
"""

from __future__ import annotations

import torch
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor
from vllm.v1.sample.logits_processor.builtin import process_dict_updates

from .steering import STEERING_ENV, SteeringArgs, SteeringError
from .steering_tokens import Pieces, RowState, stop_token_ids

__all__ = ["STEERING_ENV", "LexicalSteering"]


class LexicalSteering(LogitsProcessor):
    @classmethod
    def validate_params(cls, sampling_params) -> None:
        """At admission, in the front end: a bad argument is the request's error, not the
        engine's (vLLM answers it with HTTP 400)."""
        SteeringArgs.decode(sampling_params.extra_args)

    def __init__(self, vllm_config, device: torch.device, is_pin_memory: bool):
        from transformers import AutoTokenizer

        config = vllm_config.model_config
        tokenizer = AutoTokenizer.from_pretrained(
            config.tokenizer,
            revision=config.tokenizer_revision,
            trust_remote_code=config.trust_remote_code,
        )
        self.pieces = Pieces(tokenizer)
        self.rows: dict[int, RowState] = {}

    def is_argmax_invariant(self) -> bool:
        return False  # it changes which token is likeliest: greedy requests need it too

    def _new_row(self, params, _prompt_ids, output_ids) -> RowState | None:
        try:
            args = SteeringArgs.decode(params.extra_args)
            if args is None:
                return None
            stops = stop_token_ids(self.pieces.tokenizer, params)
            return RowState(args, self.pieces, output_ids, params.max_tokens or 1 << 30, stops)
        except SteeringError:
            return None  # validate_params already refused it at admission

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        process_dict_updates(self.rows, batch_update, self._new_row)

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        if not self.rows:
            return logits
        add_rows, add_cols, add_vals, block_rows, block_cols = [], [], [], [], []
        for index, state in self.rows.items():
            decision = state.decide()
            if decision.only is not None:
                only = torch.tensor(decision.only, dtype=torch.long, device=logits.device)
                kept = logits[index, only].clone()
                logits[index].fill_(float("-inf"))
                logits[index, only] = kept
                continue
            for token, value in decision.boost.items():
                add_rows.append(index), add_cols.append(token), add_vals.append(value)
            for token, value in decision.penalty.items():
                add_rows.append(index), add_cols.append(token), add_vals.append(-value)
            block_rows += [index] * len(decision.block)
            block_cols += decision.block
        if add_rows:
            at = _index(add_rows, add_cols, logits.device)
            values = torch.tensor(add_vals, dtype=logits.dtype, device=logits.device)
            logits.index_put_(at, values, accumulate=True)
        if block_rows:
            at = _index(block_rows, block_cols, logits.device)
            logits.index_put_(at, torch.tensor(float("-inf"), dtype=logits.dtype))
        return logits


def _index(rows: list[int], cols, device) -> tuple[torch.Tensor, torch.Tensor]:
    return (
        torch.tensor(rows, dtype=torch.long, device=device),
        torch.tensor(list(cols), dtype=torch.long, device=device),
    )
