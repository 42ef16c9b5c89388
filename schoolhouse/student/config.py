"""The student's configs, pretraining and evaluation, and the model presets it starts from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

# Each preset: the model's shape and the training defaults that suit it. Flags override the latter.
PRESETS: dict[str, dict] = {
    # ~1M parameters: a clear validation-loss drop within minutes on 2 CPU cores
    "tiny": {
        "model": {"dim": 128, "n_layers": 4, "n_heads": 4},
        "vocab_size": 2048,
        "seq_len": 256,
        "batch_size": 16,
        "steps": 600,
        "lr": 3e-3,
    },
    # ~30M parameters, for one GPU (TinyStories' 28M model is about this size)
    "small": {
        "model": {"dim": 512, "n_layers": 8, "n_heads": 8},
        "vocab_size": 8192,
        "seq_len": 512,
        "batch_size": 64,
        "steps": 5000,
        "lr": 1e-3,
    },
}


def check_preset(name: str) -> str:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return name


# a config field naming a preset, checked when the config is built
Preset = Annotated[str, AfterValidator(check_preset)]

# GPT-Eval's story beginnings when no count is given, one default for `schoolhouse evaluate -n`,
# the pipeline's and the experiment's --eval-prompts and the pretrain flow: the pipeline's and
# `make demo`'s count. The grades are means over the beginnings: ask for more where a small
# difference between students matters.
GPT_EVAL_PROMPTS = 10


class PretrainConfig(BaseModel):
    """`schoolhouse pretrain`: a small Llama-style student from scratch on dataset folders."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # --lr inf is no rate

    data: list[Path] = Field(
        min_length=1, description="dataset folder, Parquet or JSONL with a text column (repeatable)"
    )
    out: Path = Field(description="run folder to write (resumed if it holds this run)")
    anneal_data: list[Path] = Field(
        default_factory=list,
        description="best data, mixed in during the decay phase only (repeatable)",
    )
    preset: Preset = Field("tiny", description=f"model size: {', '.join(PRESETS)}")
    vocab_size: int | None = Field(None, ge=258, description="BPE vocabulary (default: preset's)")
    seq_len: int | None = Field(None, ge=8, description="tokens per sequence (default: preset's)")
    batch_size: int | None = Field(None, ge=1, description="sequences per micro-batch")
    grad_accum: int = Field(1, ge=1, description="micro-batches per optimizer step")
    steps: int | None = Field(None, ge=1, description="optimizer steps (default: preset's)")
    lr: float | None = Field(None, gt=0, description="peak learning rate (default: preset's)")
    warmup_frac: float = Field(0.05, ge=0, lt=1, description="share of steps warming up")
    decay_frac: float = Field(
        0.1, ge=0, le=1, description="share of steps in the final decay (WSD; MiniCPM uses ~10 %)"
    )
    anneal_mix: float = Field(
        0.5, ge=0, le=1, description="share of each decay-phase batch drawn from --anneal-data"
    )
    weight_decay: float = Field(0.1, ge=0, description="AdamW weight decay (matrices only)")
    optimizer: Literal["adamw", "galore"] = Field(
        "adamw",
        description="adamw, or galore: AdamW with its moments in a low-rank projection of each "
        "block matrix's gradient (Zhao et al. 2024), for less optimizer memory",
    )
    galore_rank: int | None = Field(
        None, ge=1, description="GaLore's projection rank (default: a quarter of the model width)"
    )
    galore_update_gap: int = Field(200, ge=1, description="steps between GaLore's SVDs")
    galore_scale: float = Field(0.25, gt=0, description="GaLore's update scale (alpha)")
    reference_model: Path | None = Field(
        None,
        description="Rho-1: a trained run whose per-token loss scores every training token; "
        "this run uses its tokenizer",
    )
    select_tokens: float = Field(
        1.0,
        gt=0,
        le=1,
        description="Rho-1: train on this share of each batch's tokens, those whose loss most "
        "exceeds the --reference-model's (1: every token)",
    )
    grad_clip: float = Field(1.0, gt=0, description="clip the gradient norm to this")
    val_fraction: float = Field(0.05, gt=0, lt=1, description="documents held out for validation")
    eval_every: int = Field(100, ge=1, description="steps between validation losses")
    eval_windows: int = Field(32, ge=1, description="validation sequences per evaluation")
    checkpoint_every: int = Field(100, ge=1, description="steps between checkpoints")
    # numpy draws the batches (data.Batches): its generators refuse a negative seed
    seed: int = Field(0, ge=0, description="seeds the weights and the data order")
    device: str = Field("auto", description="auto, cpu, cuda or cuda:N")
    dtype: str = Field(
        "auto", description="auto (bfloat16 on a GPU that has it, else float32), float32, bfloat16"
    )

    # fields a resumed run must share with the checkpoint it continues
    RUN_FIELDS: ClassVar[tuple[str, ...]] = (
        "preset", "vocab_size", "seq_len", "batch_size", "grad_accum", "steps", "lr",
        "warmup_frac", "decay_frac", "anneal_mix", "weight_decay", "grad_clip", "val_fraction",
        "seed", "optimizer", "galore_rank", "galore_update_gap", "galore_scale",
        "reference_model", "select_tokens",
    )  # fmt: skip
    # what a checkpoint written before a field existed was trained with
    RUN_FIELD_BEFORE: ClassVar[dict] = {
        "optimizer": "adamw", "galore_rank": None, "galore_update_gap": 200, "galore_scale": 0.25,
        "reference_model": None, "select_tokens": 1.0,
    }  # fmt: skip

    @model_validator(mode="after")
    def _selection_needs_a_reference(self):
        if (self.select_tokens < 1) != (self.reference_model is not None):
            raise ValueError(
                "--select-tokens below 1 and --reference-model go together (Rho-1): "
                "give both or neither"
            )
        return self

    @model_validator(mode="after")
    def _rank_needs_galore(self):
        if self.galore_rank is not None and self.optimizer != "galore":
            raise ValueError("--galore-rank applies to --optimizer galore only")
        return self

    @field_validator("dtype")
    @classmethod
    def _known_dtype(cls, v: str) -> str:
        if v not in ("auto", "float32", "bfloat16"):
            raise ValueError("choose auto, float32 or bfloat16")
        return v

    def resolved(self) -> PretrainConfig:
        """A copy with every preset default filled in: what the run records."""
        preset = PRESETS[self.preset]
        keys = ("vocab_size", "seq_len", "batch_size", "steps", "lr")
        update = {k: preset[k] for k in keys if getattr(self, k) is None}
        if self.optimizer == "galore" and self.galore_rank is None:
            update["galore_rank"] = max(1, preset["model"]["dim"] // 4)
        return self.model_copy(update=update)

    def model_args(self):
        from .model import ModelArgs  # imports torch

        c = self.resolved()
        return ModelArgs(
            **PRESETS[self.preset]["model"], vocab_size=c.vocab_size, max_seq_len=c.seq_len
        )


class EvaluateConfig(BaseModel):
    """`schoolhouse evaluate RUN`: the student's validation loss and perplexity, then GPT-Eval:
    it continues `n` of its held-out story beginnings and the grader grades each continuation."""

    model_config = ConfigDict(extra="forbid")

    run: Path = Field(description="the student's run folder (`schoolhouse pretrain --out`)")
    teacher: str = Field(
        "embedded",
        description="grader for GPT-Eval: 'embedded', a model folder, http(s) URL(s), or 'none'",
    )
    n: int = Field(
        GPT_EVAL_PROMPTS,
        ge=0,
        description="story beginnings to grade (0: validation loss only, as --teacher none)",
    )
    max_new_tokens: int = Field(200, ge=1, description="student tokens per story")
    temperature: float = Field(0.8, ge=0, description="student sampling temperature")
    seed: int = Field(0, ge=0, description="picks the beginnings and samples")
    val_windows: int = Field(256, ge=1, description="validation sequences")
