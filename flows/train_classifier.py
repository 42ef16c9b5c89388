"""Prefect flow: train a quality classifier on annotations, then evaluate it on held-out data.

python -m flows.train_classifier out/annotations --out out/edu-clf      # local, no server
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow, get_run_logger, task

from schoolhouse.classifier import evaluate_classifier, train_classifier
from schoolhouse.config import TrainClassifierConfig


@task
def train(config: TrainClassifierConfig) -> dict:
    return train_classifier(config, log=print)


@task
def evaluate(model: str, data: list[str]) -> dict:
    return evaluate_classifier(Path(model), [Path(p) for p in data], log=print)


@flow(name="train-classifier", log_prints=True)
def train_classifier_flow(
    annotations: list[str],
    out: str = "out/edu-clf",
    features: str = "embedding",
    eval_data: list[str] | None = None,
    options: dict | None = None,
) -> dict:
    """`options` sets any other TrainClassifierConfig field (estimator, threshold, ...)."""
    config = TrainClassifierConfig(
        annotations=[Path(p) for p in annotations], out=Path(out), features=features,
        **(options or {}),
    )  # fmt: skip
    meta = train(config)
    logger = get_run_logger()
    m = meta["metrics"]
    logger.info("%s: held-out binary F1 %.3f, macro F1 %.3f",
                meta["recipe"], m["binary_f1"], m["macro_f1"])  # fmt: skip
    result = {"train": meta}
    if eval_data:
        result["eval"] = evaluate(out, eval_data)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the train-classifier flow locally.")
    parser.add_argument("annotations", nargs="+", help="labeled data (text + score)")
    parser.add_argument("--out", default="out/edu-clf", help="model folder")
    parser.add_argument("--features", default="embedding", help="embedding or hashing")
    parser.add_argument("--eval-data", action="append", help="other labeled data (repeatable)")
    args = parser.parse_args(argv)
    train_classifier_flow(
        annotations=args.annotations, out=args.out, features=args.features,
        eval_data=args.eval_data,
    )  # fmt: skip


if __name__ == "__main__":
    main()
