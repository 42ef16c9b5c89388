"""Prefect flow: train a quality classifier on annotations, then evaluate it on held-out data.

python -m flows.train_classifier --annotations out/annotations --out out/edu-clf   # local
python -m flows.train_classifier --help          # the options of `schoolhouse classifier train`
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task

from flows.options import build, command
from schoolhouse.config import TrainClassifierConfig
from schoolhouse.graders.classifier import evaluate_classifier, train_classifier


@task
def train(config: TrainClassifierConfig) -> dict:
    return train_classifier(config, log=print)


@task
def evaluate(model: str, data: list[str]) -> dict:
    return evaluate_classifier(Path(model), [Path(p) for p in data], log=print)


@flow(name="train-classifier", log_prints=True)
def train_classifier_flow(
    annotations: list[str],
    out: str,
    features: str | None = None,
    eval_data: list[str] | None = None,
    options: dict | None = None,
) -> dict:
    """None takes TrainClassifierConfig's default; `options` sets any other field (estimator,
    threshold, scores, ...); `eval_data` are labeled sets the model is evaluated on after."""
    config = build(TrainClassifierConfig, options, out=Path(out), features=features,
                   annotations=[Path(p) for p in annotations])  # fmt: skip
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
    """`python -m flows.train_classifier`: the options of `schoolhouse classifier train`, then
    the flow."""

    def run(config: TrainClassifierConfig, values: dict) -> None:
        train_classifier_flow(annotations=values.pop("annotations"), out=values.pop("out"),
                              options=values)  # fmt: skip

    command(TrainClassifierConfig, run, "train-classifier", None, argv)


if __name__ == "__main__":
    main()
