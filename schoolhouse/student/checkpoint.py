"""Self-describing checkpoints and the run folder they live in.

runs/tiny/
  config.json       the resolved config (preset defaults filled in)
  tokenizer.json    the run's BPE
  checkpoint.pt     the last good state: model args, config, step, weights, optimizer,
                    tokenizer and data hashes (written to a temp file, then renamed)
  log.jsonl         one line per step and per evaluation
  heldout.jsonl     held-out texts, the story beginnings GPT-Eval draws from
  val.bin           the validation tokens
  loss.png          the loss curve
  README.md         the run's report (written by training, completed by `evaluate`)
  .schoolhouse/     the mark: made by `pretrain`, with the settings a rerun must keep
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..datasets.outdir import settings_of

CHECKPOINT = "checkpoint.pt"


class CheckpointError(ValueError):
    """A run folder or checkpoint cannot be used as asked; the message says what differs."""


def save(path: Path, state: dict) -> None:
    import torch

    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(state, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load(run: Path, map_location="cpu") -> dict:
    import torch

    path = Path(run) / CHECKPOINT if Path(run).is_dir() else Path(run)
    if not path.is_file():
        raise CheckpointError(f"{run}: no {CHECKPOINT}; train one with `schoolhouse pretrain`")
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:
        raise CheckpointError(f"{path}: not a readable checkpoint ({e})") from e


def check_compatible(
    state: dict, config: dict, model_args: dict, data_hash: str, before: dict | None = None
) -> None:
    """A resumed run continues only the run it was: same shape, same data, same schedule.
    `before`: the value a field had in checkpoints written before it existed."""
    before = before or {}
    where = "the checkpoint in this --out"
    if state["model_args"] != model_args:
        diff = {
            k: (state["model_args"].get(k), v)
            for k, v in model_args.items()
            if state["model_args"].get(k) != v
        }
        shown = ", ".join(f"{k} {a} vs {b}" for k, (a, b) in diff.items())
        raise CheckpointError(
            f"{where} has a different model shape ({shown}): use a new --out or the same flags"
        )
    for key, value in config.items():
        saved = state["config"].get(key, before.get(key))
        if saved != value:
            raise CheckpointError(
                f"{where} was trained with {key}={saved!r}, not {value!r}: "
                "use a new --out or the same flags"
            )
    if state["data_hash"] != data_hash:
        raise CheckpointError(
            f"{where} was trained on different data (hash {state['data_hash']} vs {data_hash}): "
            "use a new --out for new data"
        )


def made_by_pretrain(folder: Path) -> bool:
    """A run folder from before folders were marked: it holds a pretrain checkpoint (a
    tokenizer alone is any Hugging Face model folder's)."""
    return (folder / CHECKPOINT).is_file() and (folder / "log.jsonl").is_file()


def run_settings(config) -> dict:
    """What a run is: the fields a resumed run must keep (paths as text)."""
    return {k: str(v) if isinstance(v, Path) else v
            for k, v in ((k, getattr(config, k)) for k in config.RUN_FIELDS)}  # fmt: skip


def data_fingerprint(config) -> str:
    from .data import fingerprint

    return fingerprint(config.data) + (
        "+" + fingerprint(config.anneal_data) if config.anneal_data else ""
    )


def check_resumable(out: Path, settings: dict, config) -> None:
    """A run folder whose mark records no settings (made before they were recorded) is
    checked against its checkpoint instead, before anything is written."""
    if settings_of(out) is not None or not (out / CHECKPOINT).is_file():
        return
    state = load(out)
    fields = {k: v for k, v in settings.items() if k != "data"}
    check_compatible(state, fields, state["model_args"], settings["data"], config.RUN_FIELD_BEFORE)


def read_log(run: Path) -> list[dict]:
    path = Path(run) / "log.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def truncate_log(run: Path, step: int) -> None:
    """Drop log lines past the checkpoint being resumed: they will be written again."""
    path = Path(run) / "log.jsonl"
    kept = [r for r in read_log(run) if r["step"] <= step]
    from ..datasets.folder import write_atomic

    write_atomic(path, "".join(json.dumps(r) + "\n" for r in kept))
