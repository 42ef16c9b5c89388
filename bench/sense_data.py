"""The labelled rows the sense judge is measured and fitted on (`bench/data/sense/`).

- `coherent_stories.jsonl`, `coherent_textbooks.jsonl`: texts written for this set by hand,
  each making sense from start to end (label 1, failure `coherent`).
- `teacher_outputs.jsonl`: real outputs of the embedded teachers (steered `generate stories`
  and `generate textbooks`, kept and rejected rows alike), each labelled by reading it whole:
  `sense` 1 or 0, with the `teacher` and a short `note` on what is wrong.
- corrupted copies of the coherent texts, made here, deterministically (label 0, failure = the
  corruption): `shuffled` (sentences in another order), `spliced` (the first half of one text,
  the second half of another of its kind), `swapped_nouns` (nouns and names moved to each
  other's places), `invented_words` (one word in 12 replaced by a made-up word like "eelel"),
  `prompt_echo` (the teacher's prompt written out before the text), `chat_preamble` ("Sure!
  Here is ..." before and "I hope ..." after). Each coherent text gets `--corruptions` of them,
  rotating, so every type has about as many rows.

    python bench/sense_data.py --show 3     # print a few rows of each failure
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data" / "sense"
sys.path.insert(0, str(ROOT))

CORRUPTIONS = (
    "shuffled",
    "spliced",
    "swapped_nouns",
    "invented_words",
    "prompt_echo",
    "chat_preamble",
)
PREAMBLES = (
    ("Sure! Here is a short {what} for you:\n\n", "\n\nI hope you enjoyed it!"),
    ("Certainly. Below is the {what} you asked for.\n\n", ""),
    ("Here's a {what} that follows your instructions:\n\n", "\n\nLet me know if you want changes."),
    ("Of course! ", "\n\nThis {what} uses simple words and a clear structure."),
)
WORD = re.compile(r"[A-Za-z]+")


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def nouns() -> set[str]:
    with open(ROOT / "prompts" / "vocabulary.csv") as f:
        return {r["word"] for r in csv.DictReader(f) if r["pos"] == "noun"}


def splice(a: str, b: str) -> str:
    from schoolhouse.graders.sense.score import halves

    return halves(a)[0] + "\n\n" + halves(b)[1]


def swap_nouns(text: str, rng: random.Random, known: set[str]) -> str:
    """Nouns (from the child vocabulary) and names (capitalised words inside a sentence) moved
    to each other's places: the words are all real, their roles are not."""
    spots = []
    for m in WORD.finditer(text):
        word = m.group()
        before = text[: m.start()].rstrip()
        mid_sentence = before and before[-1] not in ".!?\"'\n"
        if word.lower() in known or (word[0].isupper() and mid_sentence and len(word) > 2):
            spots.append(m)
    if len(spots) < 2:
        return text
    chosen = sorted(
        rng.sample(spots, min(len(spots), max(4, len(spots) // 3))), key=lambda m: m.start()
    )
    words = [m.group() for m in chosen]
    rotated = words[1:] + words[:1]
    if all(a.lower() == b.lower() for a, b in zip(words, rotated, strict=True)):
        return text
    out, at = [], 0
    for m, new in zip(chosen, rotated, strict=True):
        new = new.capitalize() if m.group()[0].isupper() else new.lower()
        out += [text[at : m.start()], new]
        at = m.end()
    return "".join(out) + text[at:]


def invent(word: str, rng: random.Random) -> str:
    """A made-up word that looks like English: the word's syllables reordered with one doubled
    ("peel" -> "eelel"), or its letters respelled."""
    syllables = re.findall(r"[^aeiouy]*[aeiouy]+(?:[^aeiouy]*$)?", word.lower())
    for _ in range(20):
        if len(syllables) >= 2 and rng.random() < 0.6:
            parts = syllables[:]
            rng.shuffle(parts)
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(parts))
            fake = "".join(parts)
        else:
            letters = list(word.lower())
            rng.shuffle(letters)
            fake = "".join(letters)
            cut = rng.randrange(1, len(fake))
            fake = fake[:cut] + fake[cut - 1 : cut + 1] + fake[cut:]
        if fake != word.lower():
            break
    return fake.capitalize() if word[0].isupper() else fake


def invent_words(text: str, rng: random.Random, every: int = 12) -> str:
    matches = [m for m in WORD.finditer(text) if len(m.group()) >= 4]
    chosen = {m.start() for m in rng.sample(matches, max(2, len(matches) // every))}
    return WORD.sub(lambda m: invent(m.group(), rng) if m.start() in chosen else m.group(), text)


def prompt_for(kind: str, index: int) -> str:
    """A real prompt of the generator for this kind (the curriculum's sampler)."""
    from schoolhouse.config import StoriesConfig, TextbooksConfig
    from schoolhouse.jobs import lesson_kind

    config = (StoriesConfig if kind == "story" else TextbooksConfig)(n=1, out="unused")
    return lesson_kind(config, verify=lambda records: None).sampler.sample(index).text


def corrupt(row: dict, how: str, other: dict, rng: random.Random, known: set[str]) -> str:
    text, kind = row["text"], row["kind"]
    what = "story" if kind == "story" else "textbook section"
    if how == "shuffled":
        from schoolhouse.graders.sense.score import shuffled

        return shuffled(text, seed=row["id"])
    if how == "spliced":
        return splice(text, other["text"])
    if how == "swapped_nouns":
        return swap_nouns(text, rng, known)
    if how == "invented_words":
        return invent_words(text, rng)
    if how == "prompt_echo":
        return prompt_for(kind, rng.randrange(10_000)) + "\n\n" + text
    if how == "chat_preamble":
        head, tail = rng.choice(PREAMBLES)
        return head.format(what=what) + text + tail.format(what=what)
    raise ValueError(how)


def labelled_rows(corruptions: int = 2, seed: int = 0) -> list[dict]:
    """Every labelled row: id, text, kind, label (1 makes sense), failure, source."""
    rows: list[dict] = []
    known = nouns()
    for name in ("coherent_stories.jsonl", "coherent_textbooks.jsonl"):
        coherent = read_jsonl(DATA / name)
        for i, row in enumerate(coherent):
            rows.append(row | {"label": 1, "failure": "coherent", "source": "written"})
            for j in range(corruptions):
                how = CORRUPTIONS[(i * corruptions + j) % len(CORRUPTIONS)]
                rng = random.Random(f"{seed}:{row['id']}:{how}")
                other = coherent[(i + 1 + rng.randrange(len(coherent) - 1)) % len(coherent)]
                text = corrupt(row, how, other, rng, known)
                if text != row["text"]:
                    rows.append({"id": f"{row['id']}~{how}", "text": text, "kind": row["kind"],
                                 "label": 0, "failure": how, "source": "corrupted"})  # fmt: skip
    for row in read_jsonl(DATA / "teacher_outputs.jsonl"):
        failure = f"teacher:{row['teacher']}" if row["sense"] == 0 else "teacher_sense"
        rows.append({"id": row["id"], "text": row["text"], "kind": row["kind"],
                     "label": int(row["sense"]), "failure": failure,
                     "source": f"teacher:{row['teacher']}"})  # fmt: skip
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corruptions", type=int, default=2, help="corrupted copies per text")
    parser.add_argument("--show", type=int, default=1, help="rows printed per failure")
    args = parser.parse_args()
    rows = labelled_rows(args.corruptions)
    by: dict[str, list[dict]] = {}
    for row in rows:
        by.setdefault(row["failure"], []).append(row)
    for failure, group in sorted(by.items()):
        print(f"== {failure}: {len(group)} rows")
        for row in group[: args.show]:
            print(f"--- {row['id']} ({row['kind']}, label {row['label']})\n{row['text'][:700]}\n")
