"""The experiment's run: its settings, inputs, held-out split and arms; `students.py` trains and
grades the students. The package's docstring describes the run folder."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Literal

import pyarrow.parquet as pq
from pydantic import Field, field_validator

from ..config import EngineSettings, KeepThreshold, WebFilterConfig
from ..datasets.folder import ShardWriter, write_atomic
from ..datasets.merge import MERGED_SCHEMA, merge
from ..datasets.outdir import WHERE, check_new_or_own, check_run, locked, mark
from ..datasets.readers import DocumentReader
from ..graders.decontaminate import NgramIndex
from ..report.experiment import write_summary
from ..student.config import GPT_EVAL_PROMPTS, Preset
from ..student.data import heldout_key
from ..teacher import Teacher, TeacherError, resolve_teacher
from .students import ExperimentError, eval_reference, gpt_eval_all, reference_name, train_all

ARMS = ("unfiltered", "heuristics", "classifier", "synthetic", "anneal", "rho1")
# what a rerun may change: more seeds train more students; a reference set added is judged on
# by every student (one taken away keeps its figures); other GPT-Eval settings grade again
REVISABLE = (
    "seeds", "reference", "grader", "eval_prompts", "eval_reference", "eval_template",
)  # fmt: skip


class ExperimentConfig(EngineSettings, KeepThreshold):
    """`schoolhouse experiment`: students trained on arms built from the same inputs. Its
    threshold is the classifier arm's filter's; its engine is the grader's."""

    out: Path = Field(description="run folder (resumed if it holds this experiment)")
    web: list[Path] = Field(description="web text: JSONL, Parquet, WARC, text folders")
    classifier: Path | None = Field(None, description="model folder from `classifier train`")
    synthetic: list[Path] = Field([], description="synthetic dataset folders (their kept rows)")
    reference: list[Path] = Field(
        [], description="held-out text sets the arms are judged on (besides held-out web text)"
    )
    heldout: float = Field(0.1, gt=0, lt=1, description="share of web documents held out")
    arms: str = Field(",".join(ARMS), description="comma-separated arms to train")
    tokens: int = Field(2_000_000, ge=1, description="training tokens per student")
    seeds: int = Field(3, ge=1, description="students per arm, seeded 0..seeds-1")
    preset: Preset = Field("tiny", description="student preset, as pretrain takes it")
    batch_size: int | None = Field(None, ge=1, description="sequences per step (preset's)")
    seq_len: int | None = Field(None, ge=8, description="tokens per sequence (preset's)")
    rules: Literal["fineweb", "fineweb-strict", "gopher", "c4"] = Field(
        "fineweb", description="heuristics rule set of the heuristics arm"
    )
    dedup: str = Field("exact,minhash", description="dedup steps of the heuristics arm")
    anneal_top: float = Field(
        0.25, gt=0, le=1, description="share of the classifier arm, best scores, to anneal on"
    )
    select_tokens: float = Field(
        0.6, gt=0, lt=1, description="rho1: share of each batch's tokens trained on"
    )
    device: str = Field("auto", description="auto, cpu, cuda or cuda:N")
    workers: int = Field(1, ge=1, description="processes for heuristics and scoring")
    grader: str | None = Field(
        None,
        description="GPT-Eval every student with this grader ('embedded-large', a model folder "
        "or http(s) URL(s)); none: bits per byte only",
    )
    eval_prompts: int = Field(
        GPT_EVAL_PROMPTS, ge=1, description="GPT-Eval: beginnings each student continues"
    )
    eval_reference: str | None = Field(
        None,
        description="GPT-Eval: the reference set cut into beginnings (default: the first "
        "--reference, else web)",
    )
    eval_template: str = Field(
        "gpt_eval_text", description="GPT-Eval prompt in prompts/ ('gpt_eval' grades stories)"
    )

    @field_validator("arms")
    @classmethod
    def _known_arms(cls, value: str) -> str:
        arms = [a.strip() for a in value.split(",") if a.strip()]
        unknown = [a for a in arms if a not in ARMS]
        if unknown or not arms:
            raise ValueError(f"unknown arm {unknown[0] if unknown else value!r}; choose from "
                             f"{', '.join(ARMS)}")  # fmt: skip
        return ",".join(a for a in ARMS if a in arms)

    def arm_list(self) -> list[str]:
        return self.arms.split(",")

    def settings(self) -> dict:
        """What a rerun must share: all but REVISABLE."""
        return json.loads(self.model_dump_json(exclude=set(REVISABLE) | set(WHERE)))


def experiment(
    config: ExperimentConfig, *, progress: bool = True, log=print, grader: Teacher | None = None
) -> list[dict]:
    """Build the arms, train and judge every student, write the results; resumes. `grader`
    replaces opening `config.grader` for GPT-Eval (tests pass a fake)."""
    check_inputs(config)
    out = config.out
    with locked(out):
        check_new_or_own(out, "experiment")
        new = not out.exists() or not any(out.iterdir())
        out.mkdir(parents=True, exist_ok=True)
        try:
            mark(out, "experiment")
            _check_settings(config)
            references = _split(config, log)
        except ExperimentError:
            if new:  # refused before any work: leave nothing behind
                shutil.rmtree(out)
            raise
        arms = _build_arms(config, log)
        results = train_all(config, arms, references, progress, log)
        if config.grader is not None or grader is not None:
            gpt_eval_all(config, results, references, grader, log)
        write_summary(out)
    return results


def check_inputs(config: ExperimentConfig) -> None:
    for flag, paths in (("--web", config.web), ("--synthetic", config.synthetic),
                        ("--reference", config.reference)):  # fmt: skip
        for path in paths:
            if not path.exists():
                raise ExperimentError(f"{flag} {path}: no such file or folder")
    for path in config.synthetic:
        if not list((path / "data").glob("*.parquet")):
            raise ExperimentError(f"--synthetic {path}: not a dataset folder with kept rows "
                                  "(data/*.parquet)")  # fmt: skip
    needs = {"classifier", "synthetic", "anneal", "rho1"} & set(config.arm_list())
    if needs and config.classifier is None:
        raise ExperimentError(f"arms {', '.join(sorted(needs))} need --classifier "
                              "(or leave them out with --arms)")  # fmt: skip
    if config.classifier is not None and not (config.classifier / "classifier.json").is_file():
        raise ExperimentError(f"--classifier {config.classifier}: no classifier.json; train one "
                              "with `schoolhouse classifier train`")  # fmt: skip
    if "synthetic" in config.arm_list() and not config.synthetic:
        raise ExperimentError("the synthetic arm needs --synthetic folders "
                              "(or leave it out with --arms)")  # fmt: skip
    names = [reference_name(p) for p in config.reference]
    if "web" in names or len(set(names)) != len(names):
        raise ExperimentError(f"--reference: sets are named by their file or folder, and "
                              f"{names} repeats a name or uses 'web' (the held-out web set)")  # fmt: skip
    if eval_reference(config) not in ["web", *names]:
        raise ExperimentError(f"--eval-reference {config.eval_reference}: not a reference set; "
                              f"choose from web, {', '.join(names) or '(no --reference given)'}")  # fmt: skip
    if config.grader is not None:
        from ..prompt_files import CurriculumError, load_template

        try:
            load_template(config.eval_template, {"beginning", "completion"})
            resolve_teacher(config.grader)
        except CurriculumError as e:
            raise ExperimentError(f"--eval-template: {e}") from None
        except TeacherError as e:
            raise ExperimentError(f"--grader: {str(e).removeprefix('--teacher: ')}") from None


def _check_settings(config: ExperimentConfig) -> None:
    path = config.out / "experiment.json"
    if path.exists():
        saved = json.loads(path.read_text())
        check_run(config.out, "experiment", config.settings(), saved, REVISABLE, ExperimentError)
    else:
        write_atomic(path, json.dumps(config.settings(), indent=2))


# -- the split: reference sets and the web text the arms may train on ---------------------------
def _split(config: ExperimentConfig, log) -> dict[str, Path]:
    """reference/NAME.jsonl for every reference set, inputs/web.jsonl for the arms."""
    ref_dir, inputs = config.out / "reference", config.out / "inputs" / "web.jsonl"
    references = {"web": ref_dir / "web.jsonl"} | {
        reference_name(p): ref_dir / f"{reference_name(p)}.jsonl" for p in config.reference
    }
    if inputs.exists() and all(p.exists() for p in references.values()):
        return references
    ref_dir.mkdir(parents=True, exist_ok=True)
    inputs.parent.mkdir(parents=True, exist_ok=True)
    given = {}
    for path in config.reference:
        if inputs.exists() and references[reference_name(path)].exists():
            continue
        docs = [{"id": d.id, "text": d.text} for d in DocumentReader().read(path)]
        if not docs:
            raise ExperimentError(f"--reference {path}: no document in it")
        given[reference_name(path)] = docs
    if inputs.exists():  # a rerun adds reference sets: checked against what the arms train on
        train = [json.loads(line) for line in inputs.read_text().splitlines()]
        _refuse_overlap(given, train, _synthetic_rows(config))
        log("reference sets added: " + ", ".join(f"{n} ({len(d)})" for n, d in given.items()))
        for name, docs in given.items():
            _write_jsonl(references[name], docs)
        return references
    held, train = [], []
    for doc in DocumentReader().read(*config.web):
        row = {"id": doc.id, "text": doc.text}
        (held if heldout_key(doc.id) < config.heldout else train).append(row)
    if not held or not train:
        raise ExperimentError(f"--web: {len(held) + len(train)} documents are too few to hold "
                              f"out {config.heldout:.0%} by document and train on the rest")  # fmt: skip
    _refuse_overlap(given, train, _synthetic_rows(config))
    web_index = NgramIndex()
    for row in held:
        web_index.add("web", row["id"], row["text"])
    kept = [row for row in train if web_index.find(row["text"]) is None]
    log(f"reference sets: web ({len(held)} held-out documents; {len(train) - len(kept)} training "
        f"documents sharing a 13-gram with them dropped), "
        + ", ".join(f"{n} ({len(d)})" for n, d in given.items()))  # fmt: skip
    for name, docs in ({"web": held} | given).items():
        _write_jsonl(references[name], docs)
    _write_jsonl(inputs, kept)
    return references


def _refuse_overlap(given: dict[str, list[dict]], web: list[dict], synthetic: list[dict]) -> None:
    if not given:
        return
    index = NgramIndex()
    for name, docs in given.items():
        for doc in docs:
            index.add(name, doc["id"], doc["text"])
    hits = []
    for row in web + synthetic:
        found = index.find(row["text"])
        if found is not None:
            hits.append(f"{found.benchmark}/{found.item} ~ training document {row['id']} "
                        f"({found.ngram!r})")  # fmt: skip
            if len(hits) == 3:
                break
    if hits:
        raise ExperimentError("a reference set shares 13-grams with the training data: "
                              + "; ".join(hits) + ": remove those documents from one side")  # fmt: skip


def _synthetic_rows(config: ExperimentConfig) -> list[dict]:
    rows = []
    for folder in config.synthetic:
        for shard in sorted((folder / "data").glob("*.parquet")):
            table = pq.read_table(shard, columns=["id", "text"])
            rows += [{"id": f"{folder.name}/{i}", "text": t} for i, t in
                     zip(table.column("id").to_pylist(), table.column("text").to_pylist(), strict=True)]  # fmt: skip
    return rows


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


# -- the arms ------------------------------------------------------------------------------------
def _build_arms(config: ExperimentConfig, log) -> dict[str, dict]:
    """Per arm: its training data folder and anneal folder, or the reason it is skipped."""
    from ..jobs import filter_web

    out, inputs = config.out / "arms", config.out / "inputs" / "web.jsonl"
    wanted = set(config.arm_list())
    arms: dict[str, dict] = {}

    def data(folder: Path) -> Path | None:
        """The folder's training rows, or None when the filters kept nothing."""
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in folder.glob("data/*.parquet"))
        return folder / "data" if rows else None

    def filtered(name: str, **settings) -> Path | None:
        folder = out / name
        if not (folder / "config.json").exists():
            log(f"arm {name}: filtering")
            filter_web(WebFilterConfig(out=folder, workers=config.workers, **settings), log=log)
        return data(folder)

    unfiltered = out / "unfiltered"
    if not (unfiltered / "data").exists():
        writer = ShardWriter(out / ".unfiltered" / "data", MERGED_SCHEMA, 100_000)
        for line in inputs.read_text().splitlines():
            row = json.loads(line)
            writer.add({"id": row["id"], "text": row["text"], "source": "web",
                        "source_id": row["id"], "source_path": str(inputs)})  # fmt: skip
        writer.flush()
        (out / ".unfiltered").rename(unfiltered)
    arms["unfiltered"] = {"data": data(unfiltered)}
    needed = wanted - {"unfiltered"}
    heuristics = classifier = None
    if needed and arms["unfiltered"]["data"] is not None:
        heuristics = filtered("heuristics", inputs=[inputs], heuristics=True, rules=config.rules,
                              dedup=config.dedup)  # fmt: skip
        arms["heuristics"] = {"data": heuristics}
    if needed - {"heuristics"} and heuristics is not None:
        classifier = filtered("classifier", inputs=[heuristics], classifier=config.classifier,
                              threshold=config.threshold)  # fmt: skip
        arms["classifier"] = {"data": classifier}
    best = None  # the best-scored documents: the anneal arm's decay data, rho1's reference's
    if needed & {"rho1", "anneal"} and classifier is not None:
        best = _best(classifier, out / "anneal-best", config.anneal_top)
    if "rho1" in needed and best is not None:
        arms["rho1"] = {"data": heuristics, "reference": best}
    if needed & {"synthetic", "anneal"} and classifier is not None:
        if not (out / "synthetic" / "merge.json").exists():
            sources = {"web": classifier} | {f.name: f / "data" for f in config.synthetic}
            merge(sources, out / "synthetic", seed=0)
        arms["synthetic"] = {"data": out / "synthetic" / "data"}
        arms["anneal"] = {"data": out / "synthetic" / "data", "anneal": best}
    for name in ARMS:
        arm = arms.setdefault(name, {"data": None})
        if arm["data"] is None:
            arm["skipped"] = _why_empty(name, arms)
    return {name: arms[name] for name in config.arm_list()}


def _why_empty(name: str, arms: dict) -> str:
    before = {"heuristics": "unfiltered", "classifier": "heuristics", "synthetic": "classifier",
              "anneal": "classifier", "rho1": "classifier"}.get(name)  # fmt: skip
    if before and arms.get(before, {}).get("data") is None:
        return f"the {before} arm has no data"
    return {"unfiltered": "the web input is empty after holding out the reference set",
            "heuristics": "the heuristics and dedup kept no document",
            "classifier": "no document reached the classifier's threshold"}.get(name, "no data")  # fmt: skip


def _best(classifier_data: Path, folder: Path, share: float) -> Path:
    """The top `share` of the classifier arm's documents by score, for the decay phase."""
    if (folder / "data").exists():
        return folder / "data"
    table = pq.read_table(
        sorted(classifier_data.glob("*.parquet")), columns=["id", "text", "edu_score"]
    )
    rows = sorted(table.to_pylist(), key=lambda r: (-(r["edu_score"] or 0), r["id"]))
    rows = rows[: max(1, math.ceil(share * len(rows)))]
    writer = ShardWriter(folder.with_name(f".{folder.name}") / "data", MERGED_SCHEMA, 100_000)
    for r in rows:
        writer.add({"id": r["id"], "text": r["text"], "source": "web", "source_id": r["id"],
                    "source_path": str(classifier_data.parent)})  # fmt: skip
    writer.flush()
    folder.with_name(f".{folder.name}").rename(folder)
    return folder / "data"
