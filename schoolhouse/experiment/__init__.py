"""The experiment: do students learn more per token from what the schoolhouse keeps?

    schoolhouse experiment --out runs/phi --web web/ --classifier out/edu-clf \\
        --synthetic out/stories --synthetic out/textbooks --reference held-out/ \\
        --tokens 2000000 --seeds 3

The claim under phi-1, TinyStories and FineWeb-Edu, measured on the user's own data. Arms, all
built from the same inputs, each trained for the same number of tokens with the same preset,
schedule and seeds:

    unfiltered   the web documents as read
    heuristics   + the heuristic rules (--rules) and deduplication (--dedup)
    classifier   + the quality classifier at --threshold (FineWeb-Edu's recipe)
    synthetic    + every row kept in the synthetic dataset folders (phi-1.5's mix)
    anneal       the synthetic arm, its decay phase fed the best-scored web documents
                 (--anneal-top of the classifier arm by score: WSD annealing on the best data)
    rho1         the heuristics arm, training only on the --select-tokens share of each
                 batch's tokens whose loss most exceeds a reference student's (Rho-1); the
                 reference student trains on the best-scored documents, as long as the others:
                 token-level selection against the classifier's document-level selection

Every arm is judged on reference sets that no arm trains on, by bits per byte (the student's
loss per UTF-8 byte: students of different arms train different tokenizers, so loss per token
would not compare). `web` is always one: --heldout of the web documents, held out by document
id before any arm is built, and any training document that shares a 13-gram with one of them
is dropped from the training side too (web pages share boilerplate). Each --reference folder or
file is another; one that shares a 13-gram with the training data is refused, naming the
documents. An arm with less data than --tokens repeats it (`repeats` in the results); an arm
left empty by its filters is recorded as skipped, with its reason. With --grader, every student
is also graded by GPT-Eval on beginnings of one reference set (`students.py`).

The run folder describes itself and resumes: `experiment.json` (the settings: a rerun with
others is refused, except --seeds, --reference and the GPT-Eval flags: more seeds train more
students, an added reference set is judged on by every student, a new grader grades again),
`reference/`, `inputs/`, `arms/ARM/` (each arm's training data), `students/ARM-sK/` (each
student's run folder), `results.json` (one entry per arm and seed: arm, seed, tokens, repeats,
reference_loss, and gpt_eval with a grader), `gpt_eval.json` (the grader's check),
`README.md` (mean ± spread over seeds) and `results.png`. A killed run reruns with the same
command: finished arms and students are kept, an interrupted student resumes from its
checkpoint.
"""

from .run import ExperimentConfig, ExperimentError, check_inputs, experiment

__all__ = ["ExperimentConfig", "ExperimentError", "check_inputs", "experiment"]
