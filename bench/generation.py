"""Pipeline throughput against the raw engine, on the same prompts, sampling and engine.

    python bench/generation.py [--n 64] [--rounds 2] [--teacher embedded]

Prints the cold start, then for each round the output tok/s of raw `vllm.LLM.generate` over the
same chat-formatted prompts with the same per-request seeds, and of `generate_stories` (prompt
sampling, the engine, verification, journaling, Parquet shards and the dataset card), and their
ratio (target >= 0.95). Rounds alternate so drift on a noisy machine hits both sides alike.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=64, help="prompts per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="raw/pipeline pairs to run")
    parser.add_argument("--teacher", default="embedded", help="'embedded' or a model folder")
    parser.add_argument("--max-tokens", type=int, default=512)
    args = parser.parse_args()

    from filters import apply_filters, story_filters
    from schoolhouse.config import StoriesConfig
    from schoolhouse.lessons.generation import generate_stories, prepare_stories
    from schoolhouse.teacher import request_seed, resolve_teacher

    started = time.monotonic()
    spec = resolve_teacher(args.teacher)
    teacher = spec.open()
    cold = time.monotonic() - started
    print(f"teacher: {spec.name}\ncold start (resolve + convert if needed + engine): {cold:.1f} s")

    from vllm import SamplingParams

    llm = teacher.llm
    tokenizer = llm.get_tokenizer()
    verify = functools.partial(apply_filters, story_filters())
    ratios, adherence = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            seed = 1000 + round_
            config = StoriesConfig(
                n=args.n,
                out=Path(tmp) / f"r{round_}",
                seed=seed,
                max_tokens=args.max_tokens,
                teacher=args.teacher,
            )
            job = prepare_stories(config, spec)
            prompts = [job.sampler.sample(i) for i in range(args.n)]
            texts = [
                tokenizer.apply_chat_template(
                    [{"role": "user", "content": p.text}],
                    tokenize=False,
                    add_generation_prompt=True,
                )
                for p in prompts
            ]
            params = [
                SamplingParams(**config.sampling(request_seed(seed, i, 0)).to_dict())
                for i in range(args.n)
            ]
            t0 = time.monotonic()
            outputs = llm.generate(texts, params, use_tqdm=False)
            raw_s = time.monotonic() - t0
            raw_tokens = sum(len(o.outputs[0].token_ids) for o in outputs)

            t0 = time.monotonic()
            summary = generate_stories(config, verify, teacher=teacher, progress=False)
            pipe_s = time.monotonic() - t0
            raw_rate, pipe_rate = raw_tokens / raw_s, summary.completion_tokens / pipe_s
            ratios.append(pipe_rate / raw_rate)
            adherence.append(summary.to_dict()["adherence_all_words"])
            print(
                f"round {round_}: raw {raw_tokens} tok in {raw_s:.1f} s = {raw_rate:.0f} tok/s | "
                f"pipeline {summary.completion_tokens} tok in {pipe_s:.1f} s = {pipe_rate:.0f} tok/s"
                f" | ratio {ratios[-1]:.3f} | kept {summary.kept}/{args.n} "
                f"| rejected {dict(summary.rejected)}"
            )
    print(
        f"pipeline / raw output tok/s: {statistics.median(ratios):.3f} (median of {len(ratios)}; "
        f"target >= 0.95)"
    )
    print(
        f"adherence before filtering (all three words used): "
        f"{100 * statistics.mean(adherence):.1f} % of {args.n * args.rounds} stories"
    )
    teacher.close()


if __name__ == "__main__":
    main()
