"""Student training speed: `schoolhouse pretrain` against a minimal plain-PyTorch loop.

    python bench/student.py                     # tiny preset, toy stories, 3 rounds
    python bench/student.py --data out/stories --preset tiny --steps 60

Both run the same model, batch and optimizer in the same process, alternating round by round
(this machine is noisy: only ratios from one run are compared). The floor is a bare loop of
forward, backward, clip and AdamW step on random windows of the same tokens; pretrain adds the
schedule, data order, logging, progress bar and NaN check (its evaluations and checkpoints are
excluded, and there is one of each per run here). Each side's rate is its median step time,
which a neighbour's burst of load moves less than a mean. Also prints the
model's training FLOP/s as a share of this CPU's measured fp32 matmul FLOP/s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def matmul_flops(seconds: float = 3.0) -> float:
    import torch

    best = 0.0
    for n in (512, 1024, 2048):
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b
        reps, t = 0, time.perf_counter()
        while time.perf_counter() - t < seconds / 3:
            a @ b
            reps += 1
        best = max(best, 2 * n**3 * reps / (time.perf_counter() - t))
    return best


def minimal_loop(config, train_tokens, vocab_size: int, steps: int) -> list[float]:
    """The floor: the same model and batch, nothing but the training step. Seconds per step."""
    import numpy as np
    import torch

    from schoolhouse.student.model import Transformer

    torch.manual_seed(config.seed)
    model = Transformer(replace(config.model_args(), vocab_size=vocab_size))
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.9, 0.95))
    rng = np.random.default_rng(0)
    b, t = config.batch_size, config.seq_len
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        starts = rng.integers(0, len(train_tokens) - t - 1, size=b)
        w = torch.from_numpy(
            np.stack([train_tokens[s : s + t + 1] for s in starts]).astype(np.int64)
        )
        _, loss = model(w[:, :-1], w[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="training data (default: toy stories)")
    parser.add_argument("--preset", default="tiny", help="model preset")
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    args = parser.parse_args()

    import os

    import torch

    from schoolhouse.student.config import PretrainConfig
    from schoolhouse.student.data import tokenize
    from schoolhouse.student.model import Transformer
    from schoolhouse.student.tokenizer import Tokenizer
    from schoolhouse.student.train import pretrain

    work = Path(tempfile.mkdtemp(prefix="bench-student-"))
    os.environ.setdefault("SCHOOLHOUSE_CACHE", str(work / "cache"))
    data = args.data
    if data is None:
        from tests.toy_stories import write_stories

        data = write_stories(work / "stories.jsonl", n=3000)
    base = PretrainConfig(
        data=[data], out=work / "run-0", preset=args.preset, steps=args.steps,
        eval_every=args.steps, checkpoint_every=args.steps,
    ).resolved()  # fmt: skip
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; preset {args.preset}: "
          f"batch {base.batch_size} x {base.seq_len} tokens, {args.steps} steps per round")  # fmt: skip
    peak = matmul_flops()
    print(f"fp32 matmul: {peak / 1e9:.1f} GFLOP/s (best of n = 512, 1024, 2048)")

    # Median seconds per step on both sides: a noisy neighbour's burst moves a mean, not a median.
    ratios, rates = [], []
    tokens_per_step = base.batch_size * base.seq_len
    for r in range(args.rounds):
        summary = pretrain(base.model_copy(update={"out": work / f"run-{r}"}), progress=False)
        ours = statistics.median(row["step_s"] for row in summary.log if "step_s" in row)
        tokenizer = Tokenizer.load(work / f"run-{r}" / "tokenizer.json")
        tokens = tokenize([data], tokenizer, base.val_fraction)[0]
        floor = statistics.median(
            minimal_loop(base, tokens.array(), tokenizer.vocab_size, args.steps)
        )
        ratios.append(floor / ours)
        rates.append(tokens_per_step / ours)
        print(f"round {r}: pretrain {tokens_per_step / ours:,.0f} tok/s, minimal loop "
              f"{tokens_per_step / floor:,.0f} tok/s (median step), ratio {floor / ours:.3f}")  # fmt: skip

    model = Transformer(replace(base.model_args(), vocab_size=tokenizer.vocab_size))
    flops_tok = model.flops_per_token(base.seq_len)
    rate = statistics.median(rates)
    print(f"\nmedian pretrain/minimal: {statistics.median(ratios):.3f}  (target >= 0.95)")
    print(f"model: {model.num_params() / 1e6:.2f}M parameters, {flops_tok / 1e6:.1f} MFLOP/token; "
          f"{rate * flops_tok / 1e9:.1f} GFLOP/s = {rate * flops_tok / peak:.1%} of matmul peak")  # fmt: skip


if __name__ == "__main__":
    main()
