"""GaLore against AdamW on the same run: optimizer-state memory, loss and speed.

    python bench/galore.py                              # the small preset's shape, CPU-sized batch
    python bench/galore.py --preset small --batch-size 64 --seq-len 512 --steps 500   # on a GPU

Both runs are `schoolhouse pretrain` with the same data, seed, model and schedule, one after the
other in this process; only `--optimizer` differs. Printed per optimizer: the optimizer state
at the end (AdamW's two moments; GaLore's low-rank moments, projections and the full moments it
keeps for the embedding and the norms), validation loss at the start and the end, and training
tokens/s, then GaLore's ratios to AdamW. The state is a property of the shape, not of the batch:
a CPU-sized batch measures it exactly; loss and speed at this scale are indications only.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="training data (default: toy stories)")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--rank", type=int, help="GaLore rank (default: a quarter of the width)")
    parser.add_argument("--update-gap", type=int, default=20, help="steps between GaLore's SVDs")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from schoolhouse.student.config import PretrainConfig
    from schoolhouse.student.train import pretrain

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = args.data
        if data is None:
            from tests.toy_stories import write_stories

            data = write_stories(work / "stories.jsonl", n=3000)
        results = {}
        for optimizer in ("adamw", "galore"):
            config = PretrainConfig(
                data=[data], out=work / optimizer, preset=args.preset, steps=args.steps,
                batch_size=args.batch_size, seq_len=args.seq_len, seed=args.seed,
                eval_every=args.steps, checkpoint_every=args.steps, eval_windows=16,
                device=args.device, optimizer=optimizer,
                galore_rank=args.rank if optimizer == "galore" else None,
                galore_update_gap=args.update_gap,
            )  # fmt: skip
            results[optimizer] = s = pretrain(config, progress=sys.stderr.isatty())
            print(f"{optimizer:<7} {s.params / 1e6:.1f}M params on {s.device}: state "
                  f"{s.optimizer_state_mb:,.1f} MiB, val loss {s.val_loss_start:.3f} -> "
                  f"{s.val_loss:.3f}, {s.tok_s:,.0f} tok/s", flush=True)  # fmt: skip
    adamw, galore = results["adamw"], results["galore"]
    print(f"\ngalore / adamw: optimizer state {galore.optimizer_state_mb / adamw.optimizer_state_mb:.3f}, "
          f"final val loss {galore.val_loss / adamw.val_loss:.3f}, tok/s {galore.tok_s / adamw.tok_s:.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
