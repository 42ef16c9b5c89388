"""Pretrain the student: AdamW, WSD schedule with annealing data, resumable checkpoints.

    schoolhouse pretrain --data out/stories --anneal-data out/stories-best --out runs/tiny

A kill at any point loses at most the steps since the last checkpoint; the same command resumes
with the same data order (batches are a function of the step), so the resumed run's losses are
the uninterrupted run's losses.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace

from ..datasets.outdir import check_run, locked, mark, settings_of
from . import checkpoint as ckpt
from .config import PretrainConfig
from .data import Batches, eval_windows, read_texts, tokenize
from .tokenizer import Tokenizer

MAX_EPOCHS = 4  # Muennighoff et al. 2023: up to ~4 epochs of repeated data cost little


class TrainingStopped(RuntimeError):
    """Training stopped cleanly (NaN loss); the last good checkpoint is kept."""


def wsd_lr(step: int, steps: int, peak: float, warmup_frac: float, decay_frac: float) -> float:
    """Warmup-stable-decay (Hu et al. 2024, MiniCPM): linear warmup, a long constant stretch,
    then a 1-sqrt decay to zero over the last `decay_frac` of steps (Hägele et al. 2024)."""
    warmup = int(warmup_frac * steps)
    decay = max(1, int(decay_frac * steps)) if decay_frac > 0 else 0
    if step < warmup:
        return peak * (step + 1) / warmup
    if step < steps - decay:
        return peak
    return peak * (1 - math.sqrt((step - (steps - decay) + 1) / decay))


def decay_start(config: PretrainConfig) -> int:
    decay = max(1, int(config.decay_frac * config.steps)) if config.decay_frac > 0 else 0
    return config.steps - decay


@dataclass
class Summary:
    out: str
    params: int
    steps: int
    resumed_from: int
    tokens: int
    val_loss_start: float | None
    val_loss: float | None
    tok_s: float
    wall_s: float
    device: str
    train_tokens: int = 0  # tokens in the training split: tokens / train_tokens = epochs
    optimizer: str = "adamw"
    optimizer_state_mb: float = 0.0  # moments (and GaLore's projections) at the end
    log: list = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("log")
        return d


def pick_device(config: PretrainConfig):
    import torch

    device = config.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"--device {device}: this torch build sees no CUDA GPU "
            f"(torch {torch.__version__}); use --device cpu or auto"
        )
    dtype = config.dtype
    if dtype == "auto":
        dtype = (
            "bfloat16"
            if device.startswith("cuda") and torch.cuda.is_bf16_supported()
            else ("float32")
        )
    autocast = (
        torch.autocast(device.split(":")[0], dtype=torch.bfloat16)
        if dtype == "bfloat16"
        else nullcontext()
    )
    return device, autocast


def prepare(config: PretrainConfig, progress: bool, write: bool = True):
    """The tokenizer (trained once, kept in the run) and the cached token streams.

    Nothing is written into the run until all of it is ready (a run that fails here leaves its
    folder as it was). With `write` false (a non-main rank, after rank 0 prepared) it only loads
    what is there."""
    out = config.out
    tok_path = out / "tokenizer.json"
    if tok_path.is_file():
        tokenizer = Tokenizer.load(tok_path)
    elif config.reference_model is not None:  # Rho-1 scores tokens with the reference's
        tokenizer = Tokenizer.from_str(ckpt.load(config.reference_model)["tokenizer"])
    else:
        from .data import is_heldout

        texts = (t for t in read_texts(config.data) if not is_heldout(t, config.val_fraction))
        tokenizer = Tokenizer.train(texts, config.vocab_size)
    train, val, cache = tokenize(config.data, tokenizer, config.val_fraction, progress=progress)
    if len(train) == 0:
        raise ckpt.CheckpointError(
            f"--data {' '.join(map(str, config.data))}: no training text (every document was "
            "empty or held out)"
        )
    anneal = None
    if config.anneal_data:
        anneal = tokenize(config.anneal_data, tokenizer, config.val_fraction, progress=progress)[0]
    if write:
        if not tok_path.is_file():
            tokenizer.save(tok_path)
        for name in ("heldout.jsonl", "val.bin"):  # the run evaluates without its inputs
            shutil.copyfile(cache / name, out / name)
    return tokenizer, train, val, anneal


def repetition_warnings(
    config: PretrainConfig, train_tokens: int, anneal_tokens: int, world: int = 1
):
    """Runs that will read their data many times over: the validation loss will rise again."""
    per_step = config.batch_size * config.seq_len * config.grad_accum * world
    epochs = config.steps * per_step / max(train_tokens, 1)
    if epochs > MAX_EPOCHS:
        yield (
            f"{config.steps} steps read the {train_tokens:,} training tokens {epochs:.0f} times; "
            f"a model this size overfits: use about --steps {int(MAX_EPOCHS * train_tokens / per_step)} or more data"
        )
    if anneal_tokens:
        drawn = (config.steps - decay_start(config)) * per_step * config.anneal_mix
        if drawn / anneal_tokens > MAX_EPOCHS:
            yield (
                f"the decay phase draws {drawn:,.0f} tokens from {anneal_tokens:,} tokens of "
                f"--anneal-data ({drawn / anneal_tokens:.0f} times over): lower --anneal-mix or "
                "add annealing data"
            )


def evaluate_loss(model, windows, autocast, device, batch_size: int) -> float:
    import torch

    x_all, y_all = windows
    model.eval()
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x_all), batch_size):
            x = torch.from_numpy(x_all[i : i + batch_size]).to(device)
            y = torch.from_numpy(y_all[i : i + batch_size]).to(device)
            with autocast:
                total += model(x, y)[1].item() * len(x)
    model.train()
    return total / len(x_all)


def pretrain(
    config: PretrainConfig,
    *,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> Summary:
    """Train, or resume the run in `config.out`. --out is a new folder or this command's own
    run with the same settings (outdir): a dataset, a model folder or any other folder is
    refused, and so is a rerun with other settings or a second run on it, all before anything
    is written."""
    if int(os.environ.get("RANK", "0")) != 0:  # torchrun's other ranks: rank 0 holds the lock
        return _pretrain(config, progress=progress, on_step=on_step)
    out = config.out
    resolved = config.resolved()
    data_hash = ckpt.data_fingerprint(resolved)
    settings = ckpt.run_settings(resolved) | {"data": data_hash}
    check_run(out, "pretrain", settings, also_own=ckpt.made_by_pretrain)
    ckpt.check_resumable(out, settings, resolved)
    pick_device(config)  # a device this build cannot use fails before the folder exists
    with locked(out):
        check_run(out, "pretrain", settings, also_own=ckpt.made_by_pretrain)
        if settings_of(out) is None and not (out / ckpt.CHECKPOINT).is_file():
            # a run from before settings were recorded, killed before its first checkpoint:
            # nothing says which data its tokenizer was trained on, so it is trained again
            (out / "tokenizer.json").unlink(missing_ok=True)
        mark(out, "pretrain", settings)
        return _pretrain(config, progress=progress, on_step=on_step, data_hash=data_hash)


def optimizer(model, config: PretrainConfig, device: str):
    """AdamW (matrices decayed, vectors not), or GaLore's AdamW on the blocks' matrices."""
    import torch

    if config.optimizer == "galore":
        from .galore import GaLoreAdamW, galore_groups

        groups = galore_groups(model, config.galore_rank, config.weight_decay,
                               config.galore_update_gap, config.galore_scale)  # fmt: skip
        return GaLoreAdamW(groups, lr=config.lr, betas=(0.9, 0.95))
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay}],
        lr=config.lr,
        betas=(0.9, 0.95),
        fused=device.startswith("cuda"),
    )


def _pretrain(
    config: PretrainConfig,
    *,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
    data_hash: str | None = None,
) -> Summary:
    import torch
    from tqdm import tqdm

    from . import distributed
    from .galore import state_bytes
    from .model import Transformer
    from .selection import reference_model, selective_loss

    started = time.perf_counter()
    config = config.resolved()
    out = config.out
    device, autocast = pick_device(config)
    ranks, device = distributed.start(device)
    progress = progress and ranks.main
    out.mkdir(parents=True, exist_ok=True)
    if not ranks.main:
        ranks.barrier()  # rank 0 trains the tokenizer and fills the token cache first
    tokenizer, train, val, anneal = prepare(config, progress, write=ranks.main)
    if ranks.main:
        ranks.barrier()
    args = replace(config.model_args(), vocab_size=tokenizer.vocab_size)
    data_hash = data_hash or ckpt.data_fingerprint(config)
    run_fields = ckpt.run_settings(config)

    torch.manual_seed(config.seed)
    model = Transformer(args).to(device)
    opt = optimizer(model, config, device)
    reference = reference_model(config, tokenizer, device)
    start, state = 0, None
    if (out / ckpt.CHECKPOINT).is_file():
        state = ckpt.load(out, map_location=device)
        ckpt.check_compatible(state, run_fields, args.to_dict(), data_hash, config.RUN_FIELD_BEFORE)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start = state["step"]
    if ranks.main:
        ckpt.truncate_log(out, start if state else -1)  # no checkpoint: no step was kept
        (out / "config.json").write_text(config.model_dump_json(indent=2))
    ddp = model
    if ranks.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        ddp = DistributedDataParallel(
            model, device_ids=[ranks.local_rank] if "cuda" in device else None
        )

    batches = Batches(
        train.array(), config.batch_size, config.seq_len, config.seed, anneal.array()
        if anneal else None, config.anneal_mix, rank=ranks.rank,
    )  # fmt: skip
    windows = eval_windows(val.array(), config.seq_len, config.eval_windows)
    if ranks.main and start == 0:
        for line in repetition_warnings(
            config, len(train), len(anneal) if anneal else 0, ranks.world
        ):
            print(f"warning: {line}", file=sys.stderr)
    tokens_per_step = config.batch_size * config.seq_len * config.grad_accum * ranks.world
    log = open(out / "log.jsonl" if ranks.main else os.devnull, "a")  # noqa: SIM115 (closed in finally)

    def save(step: int, val_loss: float | None):
        if not ranks.main:
            return
        ckpt.save(out / ckpt.CHECKPOINT, {
            "model_args": args.to_dict(), "config": run_fields, "step": step,
            "model": model.state_dict(), "optimizer": opt.state_dict(),
            "tokenizer": tokenizer.to_str(), "data_hash": data_hash, "val_loss": val_loss,
            "full_config": json.loads(config.model_dump_json()),
        })  # fmt: skip

    def record(**row):
        log.write(json.dumps(row) + "\n")
        log.flush()

    val_start = state["val_loss"] if state else None
    if start == 0:
        val_start = evaluate_loss(model, windows, autocast, device, config.batch_size)
        record(step=0, val_loss=val_start)
    val_loss, anneal_from = val_start, decay_start(config)
    bar = tqdm(total=config.steps, initial=start, unit="step", disable=not progress)
    # training time is the loop's wall time less evaluations and checkpoints: it includes the
    # data, the logging and the progress bar, everything a step costs
    t0, paused, trained, last_saved = time.perf_counter(), 0.0, 0, start
    mark = t0  # end of the previous step, pauses excluded: step_s includes its logging
    try:
        for step in range(start, config.steps):
            lr = wsd_lr(step, config.steps, config.lr, config.warmup_frac, config.decay_frac)
            for group in opt.param_groups:
                group["lr"] = lr
            loss_sum = torch.zeros((), device=device)
            for micro in range(config.grad_accum):
                x, y = batches.get(step, micro, annealing=step >= anneal_from)
                x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
                # DDP averages gradients across ranks on the last micro-batch only
                last = micro == config.grad_accum - 1
                with nullcontext() if last or ddp is model else ddp.no_sync():
                    with autocast:
                        if reference is None:
                            loss = ddp(x, y)[1]
                        else:  # Rho-1: only the selected tokens train; every token is logged
                            with torch.no_grad():
                                ref_logits = reference(x)[0]
                            loss, logged = selective_loss(ddp(x)[0], y, ref_logits,
                                                          config.select_tokens)  # fmt: skip
                    (loss / config.grad_accum).backward()
                loss_sum += (loss.detach() if reference is None else logged) / config.grad_accum
            loss_value = ranks.mean(loss_sum).item()
            if not math.isfinite(loss_value):
                # a resumed run must keep its flags (checkpoint.check_compatible): a lower
                # --lr is a new run, in a new --out
                kept = (
                    f"the last good checkpoint (step {last_saved}) is kept in {out}"
                    if (out / ckpt.CHECKPOINT).is_file()
                    else f"no checkpoint was saved in {out}"
                )
                raise TrainingStopped(
                    f"the loss became {loss_value} at step {step + 1}; {kept}: rerun with a "
                    "lower --lr and a new --out"
                )
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            trained += 1
            done = step + 1
            now = time.perf_counter()
            step_s, tok_s = now - mark, trained * tokens_per_step / (now - t0 - paused)
            mark = now
            record(step=done, loss=round(loss_value, 6), lr=lr, grad_norm=round(float(norm), 4),
                   step_s=round(step_s, 5),
                   tokens=done * tokens_per_step, tok_s=round(tok_s, 1),
                   decay=step >= anneal_from)  # fmt: skip
            bar.set_postfix(loss=f"{loss_value:.3f}", lr=f"{lr:.2e}", tok_s=f"{tok_s:,.0f}")
            bar.update()
            t_pause = time.perf_counter()
            if done % config.eval_every == 0 or done == config.steps:
                val_loss = evaluate_loss(model, windows, autocast, device, config.batch_size)
                record(step=done, val_loss=val_loss)
            if done % config.checkpoint_every == 0 or done == config.steps:
                save(done, val_loss)
                last_saved = done
            paused += time.perf_counter() - t_pause
            mark += time.perf_counter() - t_pause
            if on_step:
                on_step(done, loss_value)
    finally:
        bar.close()
        log.close()
    wall = time.perf_counter() - t0
    from .report import plot_loss, write_run_report

    if ranks.main:
        plot_loss(out)
        write_run_report(out)
    ranks.barrier()
    ranks.close()
    return Summary(
        out=str(out), params=model.num_params(), steps=config.steps, resumed_from=start,
        tokens=config.steps * tokens_per_step, val_loss_start=val_start, val_loss=val_loss,
        tok_s=trained * tokens_per_step / max(wall - paused, 1e-9),
        wall_s=time.perf_counter() - started, device=device, train_tokens=len(train),
        optimizer=config.optimizer,
        optimizer_state_mb=round(state_bytes(opt) / 2**20, 3), log=ckpt.read_log(out),
    )  # fmt: skip
