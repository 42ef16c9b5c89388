"""The main job, end to end: write, grade, filter, merge, train the student, grade it, report.

    stories + textbooks -> annotate a web sample -> train the classifier -> filter web text
      -> merge the kept rows -> pretrain the student -> evaluate it -> report (-> publish)

Every step writes its own folder under `out/` with the command it stands for (`schoolhouse
generate`, `annotate`, `classifier train`, `filter`, `pretrain`, `evaluate`, `report`,
`publish`), so each can be inspected, reported and rerun alone. `out/pipeline.json` records the
settings and each step's outcome and time; a rerun of the same settings skips finished steps and
resumes the interrupted one (generation and annotation from their journals, pretraining from its
last checkpoint). One teacher engine serves the generation and annotation steps; it is closed
before the student trains and opened again to grade it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from .config import PipelineConfig
from .datasets.folder import write_atomic
from .datasets.outdir import check_run, locked
from .datasets.readers import check_web_inputs

STEPS = (
    "stories", "textbooks", "annotate", "classifier", "filter", "merge", "pretrain", "evaluate",
    "report", "publish",
)  # fmt: skip


class Teachers:
    """One engine at a time, opened when first needed: the teacher for generation, the grader
    for annotation and GPT-Eval (the same engine when they are the same model)."""

    def __init__(self, config: PipelineConfig, open_teacher: Callable | None = None):
        self.config, self.open_teacher = config, open_teacher
        self.teacher, self.spec, self.lifetime = None, None, None

    def get(self, spec: str):
        if self.teacher is not None and self.spec != spec:
            self.close()
        if self.teacher is None:
            if self.open_teacher is not None:
                self.teacher = self.open_teacher(spec)
                self.lifetime = None
            else:
                from .jobs import opener_for
                from .teacher import opened, settings_of

                self.lifetime = opened(spec, settings_of(self.config),
                                       opener=opener_for(self.config))  # fmt: skip
                self.teacher = self.lifetime.__enter__()
            self.spec = spec
        return self.teacher

    def lender(self, spec: str) -> Callable:
        """An opener for one job (`jobs.*(..., opener=)`): the engine of `spec`, opened here
        if it is not yet and lent, so that the job's end leaves it open for the next step."""
        from .teacher import Lent

        return lambda resolved, settings: Lent(self.get(spec))

    def close(self, quiet: bool = False) -> None:
        teacher, self.teacher, self.spec = self.teacher, None, None
        lifetime, self.lifetime = self.lifetime, None
        if teacher is None:
            return
        try:
            if lifetime is not None:
                lifetime.__exit__(None, None, None)
            else:
                teacher.close()
        except Exception:
            if not quiet:
                raise


class Pipeline:
    def __init__(
        self,
        config: PipelineConfig,
        log: Callable[[str], None] = print,
        open_teacher: Callable | None = None,
    ):
        """`open_teacher` replaces starting the configured teacher (tests pass a fake)."""
        self.config, self.log = config, log
        self.teachers = Teachers(config, open_teacher)
        self.state_path = config.out / "pipeline.json"
        self.state = self._load_state()
        if config.repo:  # a missing token fails now, not after an hour of work
            from .datasets.publish import resolve_token

            resolve_token()
        check_web_inputs(
            config.web
        )  # and so does a mistyped --web, not after the stories are written

    def _load_state(self) -> dict:
        settings = json.loads(self.config.model_dump_json())
        state = json.loads(self.state_path.read_text()) if self.state_path.exists() else None
        # no pipeline.json: a new or empty folder, never one another command made
        check_run(self.config.out, "pipeline", settings, state and state["config"])
        return state or {"config": settings, "steps": {}}

    def _save(self) -> None:
        self.config.out.mkdir(parents=True, exist_ok=True)
        write_atomic(self.state_path, json.dumps(self.state, indent=2, default=str))

    def run(self, progress: bool = True) -> dict:
        try:
            with locked(self.config.out):  # a second pipeline on the same --out is refused
                for name in STEPS:
                    self.step(name, progress)
        finally:
            self.teachers.close()
        return self.state

    def step(self, name: str, progress: bool = False) -> dict:
        """Run one step (or record why it is skipped); return its record."""
        record = self.state["steps"].get(name)
        if record and record["status"] == "done" and self._still_there(name):
            self.log(f"[{name}] done before, skipped")
            return record
        skip = self._skip_reason(name)
        if skip:
            record = {"status": "skipped", "reason": skip}
            self.log(f"[{name}] skipped: {skip}")
        else:
            self.log(f"[{name}] starting")
            started = time.perf_counter()
            try:
                result = getattr(self, f"_{name}")(progress)
            except Exception as e:
                from .teacher import TeacherError

                if isinstance(e, TeacherError):  # a retry starts a fresh engine
                    self.teachers.close(quiet=True)
                self.state["steps"][name] = {
                    "status": "failed",
                    "error": f"{type(e).__name__}: {e}",
                }
                self._save()
                raise
            if isinstance(result, str):  # a step that found it has nothing to do
                record = {"status": "skipped", "reason": result}
                self.log(f"[{name}] skipped: {result}")
            else:
                wall = time.perf_counter() - started
                record = {"status": "done", "wall_s": round(wall, 1), "result": result}
                self.log(f"[{name}] done in {wall:,.0f} s")
        self.state["steps"][name] = record
        self._save()
        return record

    def _still_there(self, name: str) -> bool:
        """A finished step's output is still on disk (one deleted by hand is made again)."""
        if name in ("report", "publish"):
            return False  # cheap, and they describe the latest state
        if name == "evaluate":
            return (self.config.paths["pretrain"] / "eval.json").exists()
        return self.config.paths[name].exists()

    def _skip_reason(self, name: str) -> str | None:
        c, steps = self.config, self.state["steps"]
        if name == "stories" and not c.stories:
            return "--stories 0"
        if name == "textbooks" and not c.textbooks:
            return "--textbooks 0"
        if name in ("annotate", "classifier", "filter") and not c.web:
            return "no --web input"
        if name in ("annotate", "classifier") and not c.annotate:
            return "--annotate 0"
        if name == "classifier" and steps.get("annotate", {}).get("status") != "done":
            return "no annotations"
        if name == "publish" and not c.repo:
            return "no --repo"
        return None

    # -- the steps: each calls what its command calls ------------------------------------------

    def _stories(self, progress: bool) -> dict:
        from .config import StoriesConfig

        c = self.config
        config = StoriesConfig(n=c.stories, out=self.config.paths["stories"], seed=c.seed,
                               teacher=c.teacher, best_of=c.best_of, judge=c.judge)  # fmt: skip
        return self._generate(config, progress)

    def _textbooks(self, progress: bool) -> dict:
        from .config import TextbooksConfig

        c = self.config
        config = TextbooksConfig(n=c.textbooks, out=c.paths["textbooks"], seed=c.seed,
                                 teacher=c.teacher, judge=c.judge)  # fmt: skip
        return self._generate(config, progress)

    def _generate(self, config, progress: bool) -> dict:
        from .jobs import generate

        opener = self.teachers.lender(config.teacher)
        return generate(config, progress=progress, opener=opener).to_dict()

    def _annotate(self, progress: bool) -> dict:
        from .config import AnnotateConfig
        from .jobs import annotate

        c = self.config
        config = AnnotateConfig(inputs=c.web, out=c.paths["annotate"], n=c.annotate, seed=c.seed,
                                teacher=c.grader_spec)  # fmt: skip
        opener = self.teachers.lender(c.grader_spec)
        return annotate(config, progress=progress, opener=opener).to_dict()

    def _classifier(self, progress: bool) -> dict | str:
        from .config import TrainClassifierConfig
        from .graders.classifier.labels import LabelError
        from .graders.classifier.train import train_classifier

        c = self.config
        out = c.paths["classifier"]
        if (out / "classifier.json").exists():
            return json.loads((out / "classifier.json").read_text())["metrics"]
        config = TrainClassifierConfig(annotations=[c.paths["annotate"]], out=out,
                                       features=c.features, threshold=c.threshold, seed=c.seed)  # fmt: skip
        try:
            return train_classifier(config, log=self.log)["metrics"]
        except LabelError as e:  # too few or one-sided labels: filter without a classifier
            return f"the annotations cannot train a classifier: {e}"

    def _filter(self, progress: bool) -> dict:
        from .config import WebFilterConfig
        from .jobs import filter_web

        c = self.config
        out = c.paths["filter"]
        classifier = c.paths["classifier"]
        trained = (classifier / "classifier.json").exists()
        config = WebFilterConfig(
            inputs=c.web, out=out, heuristics=True, threshold=c.threshold, dedup=c.dedup,
            decontaminate=c.decontaminate, classifier=classifier if trained else None,
            # the pages the grader read keep its score; the classifier scores the others
            annotations=[c.paths["annotate"]] if trained else [], runner=c.runner,
        )  # fmt: skip
        if out.exists():  # written whole or not at all
            return {"kept": _rows(out / "data"), "out": str(out)}
        summary = filter_web(config, log=self.log)
        return {"kept": summary.kept, "documents": summary.documents,
                "rejected": {f"{s}/{r}": n for (s, r), n in summary.rejected.items()}}  # fmt: skip

    def _merge(self, progress: bool) -> dict | str:
        sources = {
            name: self.config.paths[step] / "data"
            for name, step in (
                ("stories", "stories"),
                ("textbooks", "textbooks"),
                ("web", "filter"),
            )  # fmt: skip
            if _rows(self.config.paths[step] / "data")
        }
        if not sources:
            raise ValueError(
                "no kept rows to train on: every story, lesson and web document was dropped "
                f"(see the cards under {self.config.out}); raise --stories/--textbooks or add --web"
            )
        from .datasets.merge import merge

        return merge(sources, self.config.paths["merge"], self.config.seed)

    def _pretrain(self, progress: bool) -> dict:
        from .student.config import PretrainConfig
        from .student.train import pretrain

        self.teachers.close()  # its memory (all of a GPU's, with vLLM) goes to the student
        c = self.config
        anneal = [self.config.paths[s] / "data" for s in ("stories", "textbooks")
                  if _rows(self.config.paths[s] / "data")]  # fmt: skip
        config = PretrainConfig(
            data=[c.paths["merge"]], out=c.paths["pretrain"], preset=c.preset, seed=c.seed,
            anneal_data=anneal if c.anneal else [],
        )  # fmt: skip
        config = config.model_copy(update={"val_fraction": self._val_fraction(config)})
        config = config.model_copy(update=self._sized(config))
        return pretrain(config, progress=progress).to_dict()

    def _val_fraction(self, config) -> float:
        """5 % held out, or more for a small mix: enough for two validation sequences (at
        ~4 characters a token)."""
        from .student.data import read_texts, val_fraction_for

        seq_len = config.resolved().seq_len
        fraction = val_fraction_for(read_texts(config.data), 4 * 2 * (seq_len + 1))
        if fraction > 0.05:
            self.log(f"[pretrain] a small mix: {fraction:.0%} of it held out for validation")
        return fraction

    def _sized(self, config) -> dict:
        """Steps and annealing mix for the data at hand: the preset's steps, or fewer so a small
        mix is read at most MAX_EPOCHS times; a decay-phase mix that reads the annealing data
        at most MAX_EPOCHS times, or none when even a small share would repeat it more."""
        from .student.train import MAX_EPOCHS, decay_start, prepare

        resolved = config.resolved()
        # the token streams are cached for pretrain; its folder is pretrain's to make
        _, train, _, anneal = prepare(resolved, progress=False, write=False)
        per_step = resolved.batch_size * resolved.seq_len * resolved.grad_accum
        sized = max(self.config.min_steps, int(MAX_EPOCHS * len(train) / per_step))
        steps = self.config.steps or min(resolved.steps, sized)
        update = {"steps": steps}
        self.log(f"[pretrain] {len(train):,} training tokens: {steps} steps")
        if anneal is not None:
            decay = resolved.model_copy(update={"steps": steps})
            drawn = (steps - decay_start(decay)) * per_step
            mix = min(resolved.anneal_mix, 0.95 * MAX_EPOCHS * len(anneal) / max(drawn, 1))
            if mix < 0.05:
                self.log(f"[pretrain] {len(anneal):,} annealing tokens are too few for the "
                         f"decay phase's {drawn:,} tokens: no annealing mix")  # fmt: skip
                update |= {"anneal_data": []}
            else:
                update |= {"anneal_mix": round(mix, 3)}
        return update

    def _evaluate(self, progress: bool) -> dict:
        from .student.evaluate import evaluate

        c = self.config
        teacher = self.teachers.get(c.grader_spec) if c.eval_prompts else None
        from contextlib import nullcontext

        from .graders.sense.check import sense_check

        check = sense_check(c.judge) if c.eval_prompts else None  # reads the student's stories
        settings = {"kv_cache_gib": c.kv_cache_gib, "seed": c.seed}
        with check.reader(teacher, settings) if check else nullcontext() as judge:
            result = evaluate(c.paths["pretrain"], teacher, c.eval_prompts,
                              judge=judge.scores if judge else None)  # fmt: skip
        gpt = result.get("gpt_eval") or {}
        keys = ("prompts", "graded", "grammar", "creativity", "consistency",
                "grader_discriminates")  # fmt: skip
        sense = result.get("sense_eval") or {}
        return {"val_loss": result["val_loss"], "perplexity": result["perplexity"],
                **{k: gpt.get(k) for k in keys},
                **{f"sense_{k}": sense.get(k) for k in ("student", "real_ending",
                                                        "shuffled_words", "judge_discriminates")}}  # fmt: skip

    def _report(self, progress: bool) -> dict:
        from .report import write_report

        self.teachers.close()
        folders = [p for s, p in self.config.paths.items()
                   if s != "report" and self.state["steps"].get(s, {}).get("status") == "done"]  # fmt: skip
        path = write_report(folders, self.config.paths["report"], title="schoolhouse pipeline",
                            intro=steps_table(self.state))  # fmt: skip
        return {"path": str(path)}

    def _publish(self, progress: bool) -> dict:
        from .datasets.publish import publish

        url = publish(self.config.paths["merge"], self.config.repo, private=self.config.private,
                      log=self.log)  # fmt: skip
        return {"url": url}


def _rows(folder: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(Path(folder).glob("*.parquet")))


def step_notes(state: dict) -> list[tuple[str, str, str]]:
    """(step, status, time or reason) for each step the run has reached, in order."""
    notes = []
    for name in STEPS:
        record = state["steps"].get(name)
        if record is not None:
            done = record["status"] == "done"
            note = f"{record['wall_s']:,.0f} s" if done else record.get("reason", "")
            notes.append((name, record["status"], note))
    return notes


def format_steps(state: dict) -> str:
    return "\n".join(f"  {n:<11} {status:<8} {note}" for n, status, note in step_notes(state))


def steps_table(state: dict) -> str:
    import html

    rows = "".join(
        f"<tr><th>{n}</th><td>{status}</td><td>{html.escape(note)}</td></tr>"
        for n, status, note in step_notes(state)
    )
    return f"<h2>Steps</h2><table>{rows}</table>"
