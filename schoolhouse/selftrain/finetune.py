"""Fine-tune a teacher on (messages, answer) pairs and write the result as a model folder that
`--teacher PATH`, `teacher serve` and vLLM load like any other.

    stats = finetune(base_dir, examples, out_dir, Tuning(method="lora"))

- **Methods.** `lora` and `dora` train `peft` adapters on every linear layer (DoRA: `use_dora`).
  The adapter is then merged into the weights: vLLM serves LoRA adapters but rejects DoRA ones,
  and a merged folder needs no adapter support at all. `full` trains every weight (sensible for
  the 135M model; on 2 CPU cores the 0.5B model is LoRA territory).
- **What is learned.** The chat template is applied as the teacher sees it when it answers (the
  user's messages, then the generation prompt), so the model learns to answer in the same
  context it is asked in. The loss covers the answer's tokens and the template's end-of-turn
  token only, never the prompt.
- **Batches.** One sequence per forward pass, gradients accumulated over `batch` examples: no
  padding, so CPU time goes to real tokens.
- **Resume.** Every `checkpoint_every` optimizer steps the trainable weights, the optimizer and
  the step are saved (written aside, then renamed). A killed fine-tune continues from its last
  checkpoint when the same examples and settings come back; other examples or settings start
  over. The finished folder appears by rename only when complete, with `selftrain.json`
  recording the base model, the settings and a hash of the examples.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

MANIFEST = "selftrain.json"
CHECKPOINT = ".finetune-checkpoint"


@dataclass(frozen=True)
class Example:
    messages: tuple[dict, ...]  # what the teacher was asked, as chat messages
    answer: str  # the answer to learn


@dataclass(frozen=True)
class Tuning:
    method: str = "lora"  # lora | dora | full
    rank: int = 16
    alpha: int = 32
    lr: float = 2e-4  # full fine-tuning wants ~1e-5
    epochs: float = 1.0
    batch: int = 8  # examples per optimizer step
    max_length: int = 1024  # tokens per example (prompt + answer); longer ones are cut
    warmup: float = 0.1  # share of the steps the learning rate warms up over
    checkpoint_every: int = 10  # optimizer steps
    seed: int = 0


def examples_sha(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for e in examples:
        digest.update(json.dumps([list(e.messages), e.answer], sort_keys=True).encode())
    return digest.hexdigest()[:16]


def tokenize(tokenizer, example: Example, max_length: int) -> tuple[list[int], list[int]]:
    """(input ids, labels) with the prompt's labels masked (-100): the answer and the template's
    end of turn are learned, the question is not."""
    prompt = tokenizer.apply_chat_template(
        list(example.messages), add_generation_prompt=True, tokenize=False
    )
    full = tokenizer.apply_chat_template(
        [*example.messages, {"role": "assistant", "content": example.answer}], tokenize=False
    )
    if not full.startswith(prompt):  # a template that rewrites earlier turns: learn the answer
        full = prompt + example.answer + (tokenizer.eos_token or "")
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = tokenizer(full, add_special_tokens=False)["input_ids"][:max_length]
    labels = [-100] * min(len(prompt_ids), len(ids)) + ids[len(prompt_ids) :]
    return ids, labels


def finetune(
    base: Path | str,
    examples: Sequence[Example],
    out: Path | str,
    tuning: Tuning = Tuning(),
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict:
    """Train `base` on `examples` and write the merged model folder `out`; its stats.
    A finished `out` for the same base, examples and settings is left as it is."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base, out = Path(base), Path(out)
    if not examples:
        raise ValueError("fine-tuning needs at least one example")
    identity = {"base": str(base.resolve()), "examples": len(examples),
                "examples_sha": examples_sha(examples), "tuning": asdict(tuning)}  # fmt: skip
    done = _manifest(out)
    if done is not None and all(done.get(k) == v for k, v in identity.items()):
        return done
    if out.exists():
        raise FileExistsError(
            f"{out} exists and holds another fine-tune: remove it or pick a new folder"
        )
    if tuning.method not in ("lora", "dora", "full"):
        raise ValueError(f"--method: {tuning.method!r} is not lora, dora or full")

    torch.manual_seed(tuning.seed)
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(
        base, dtype=torch.bfloat16 if cuda else torch.float32
    ).to(device)
    if tuning.method != "full":
        from peft import LoraConfig, get_peft_model

        adapter = LoraConfig(r=tuning.rank, lora_alpha=tuning.alpha, lora_dropout=0.0,
                             target_modules="all-linear", use_dora=tuning.method == "dora",
                             task_type="CAUSAL_LM")  # fmt: skip
        model = get_peft_model(model, adapter)
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([p for _, p in trainable], lr=tuning.lr, weight_decay=0.0)

    order = _order(len(examples), tuning)
    steps = math.ceil(len(order) / tuning.batch)
    warmup = max(1, int(tuning.warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * s / steps))
    )
    checkpoint = out.parent / f"{out.name}{CHECKPOINT}"
    step, losses = _resume(checkpoint, identity, trainable, optimizer, schedule)
    if step:
        log(f"fine-tune: resuming {out} from step {step} of {steps}")
    encoded = [tokenize(tokenizer, e, tuning.max_length) for e in examples]
    answer_tokens = sum(sum(1 for x in labels if x != -100) for _, labels in encoded)

    from ..datasets.folder import progress_bar

    bar = progress_bar(steps, step, progress, "step", "fine-tune")
    started, trained = time.monotonic(), 0
    model.train()
    while step < steps:
        batch = order[step * tuning.batch : (step + 1) * tuning.batch]
        weight = sum(sum(1 for x in encoded[i][1] if x != -100) for i in batch) or 1
        total = 0.0
        for i in batch:  # one sequence at a time: no padding; token-weighted mean over the batch
            ids, labels = encoded[i]
            n = sum(1 for x in labels if x != -100)
            if n == 0:
                continue
            x = torch.tensor([ids], device=device)
            y = torch.tensor([labels], device=device)
            loss = model(input_ids=x, labels=y).loss * (n / weight)
            loss.backward()
            total += float(loss.detach())
            trained += len(ids)
        torch.nn.utils.clip_grad_norm_([p for _, p in trainable], 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        losses.append(round(total, 4))
        if bar:
            bar.set_postfix_str(f"loss {total:.3f}, {trained / (time.monotonic() - started):.0f} tok/s",
                                refresh=False)  # fmt: skip
            bar.update(1)
        if step % tuning.checkpoint_every == 0 and step < steps:
            _save_checkpoint(checkpoint, identity, step, losses, trainable, optimizer, schedule)
    if bar:
        bar.close()
    wall = time.monotonic() - started

    if tuning.method != "full":
        model = model.merge_and_unload()
    stats = identity | {
        "steps": steps, "answer_tokens": answer_tokens, "loss_first": losses[0] if losses else None,
        "loss_last": losses[-1] if losses else None, "losses": losses,
        "train_s": round(wall, 1), "tokens_per_s": round(trained / wall, 1) if wall else None,
        "device": device,
    }  # fmt: skip
    _save_model(model, tokenizer, base, out, stats)
    shutil.rmtree(checkpoint, ignore_errors=True)
    return stats


def finetune_apart(
    base: Path | str,
    examples: Sequence[Example],
    out: Path | str,
    tuning: Tuning = Tuning(),
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict:
    """`finetune` in a child process: the model, its gradients and the optimizer (several GB for
    the 0.5B model) go back to the system when it ends, before the next engine starts in this
    process, and a crash of the training libraries cannot take the run with it."""
    import multiprocessing
    import os

    from ..graders.judge import die_with_parent

    context = multiprocessing.get_context("spawn")
    # the child dies with this process however it ends (a SIGKILL leaves no trainer behind)
    with context.Pool(1, initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        return pool.apply(finetune, (base, list(examples), out, tuning, progress, _stderr))


def _stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


def _order(n: int, tuning: Tuning) -> list[int]:
    """Example indices in training order: each epoch a seeded shuffle, a fractional last epoch
    its first part."""
    rng = random.Random(tuning.seed)
    order: list[int] = []
    for _ in range(math.ceil(tuning.epochs)):
        epoch = list(range(n))
        rng.shuffle(epoch)
        order += epoch
    return order[: max(1, round(n * tuning.epochs))]


def _manifest(out: Path) -> dict | None:
    try:
        return json.loads((out / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def _save_checkpoint(path: Path, identity, step, losses, trainable, optimizer, schedule) -> None:
    import torch

    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    torch.save({n: p.detach().cpu() for n, p in trainable}, tmp / "weights.pt")
    torch.save({"optimizer": optimizer.state_dict(), "schedule": schedule.state_dict()},
               tmp / "optimizer.pt")  # fmt: skip
    (tmp / "state.json").write_text(json.dumps({**identity, "step": step, "losses": losses}))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)


def _resume(path: Path, identity, trainable, optimizer, schedule) -> tuple[int, list]:
    """The step and losses of a checkpoint of this same fine-tune, loaded; else (0, [])."""
    import torch

    try:
        state = json.loads((path / "state.json").read_text())
    except (OSError, ValueError):
        return 0, []
    if any(state.get(k) != v for k, v in identity.items()):
        shutil.rmtree(path, ignore_errors=True)  # another fine-tune's: start over
        return 0, []
    weights = torch.load(path / "weights.pt", weights_only=True)
    with torch.no_grad():
        for name, p in trainable:
            p.copy_(weights[name])
    saved = torch.load(path / "optimizer.pt", weights_only=False)
    optimizer.load_state_dict(saved["optimizer"])
    schedule.load_state_dict(saved["schedule"])
    return state["step"], state["losses"]


def _save_model(model, tokenizer, base: Path, out: Path, stats: dict) -> None:
    """Write the merged model in the base's dtype, with its tokenizer and chat template, aside;
    then rename it into place."""
    import torch

    config = json.loads((base / "config.json").read_text())
    dtype = getattr(torch, str(config.get("dtype") or config.get("torch_dtype") or "float32"))
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.to("cpu", dtype=dtype).save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    for name in ("chat_template.jinja", "generation_config.json"):
        if (base / name).exists() and not (tmp / name).exists():
            shutil.copy2(base / name, tmp / name)
    (tmp / MANIFEST).write_text(json.dumps(stats, indent=2))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(out)
