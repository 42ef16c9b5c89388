"""Rebuild prompts/vocabulary.csv, the child vocabulary the story prompts draw from.

    make vocabulary        # or: python prompts/build_vocabulary.py --out prompts/vocabulary.csv

Recipe (TinyStories, Eldan & Li 2023: ~1,500 words a 3-4-year-old knows, split into nouns,
verbs and adjectives):
1. Start from the Dale-Chall list of ~3,000 words known to 80 % of fourth-graders, as shipped in
   the PyPI package `textstat` (resources/en/easy_words.txt).
2. Keep base forms only (a word equal to its own lemma under `lemminflect` as noun, verb and
   adjective), so "jumped" is never a target word: the filters accept inflections instead.
   Function words and a short list of proper names and adult themes are dropped.
3. Give each word its dominant part of speech from Princeton WordNet 3.0 (Debian `wordnet-base`):
   the sum of its sense-tagged corpus counts (cntlist.rev) per noun / verb / adjective; a word
   WordNet knows under one of these parts only takes that part; words whose dominant part is an
   adverb, or that WordNet does not know (function words), are dropped.
4. Rank by everyday frequency (`wordfreq` Zipf scale, English) and keep the most frequent
   `--size` words.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

WORDNET = Path("/usr/share/wordnet")
SS_TYPE = {"1": "noun", "2": "verb", "3": "adjective", "5": "adjective", "4": "adverb"}
INDEX_FILES = {"noun": "index.noun", "verb": "index.verb", "adjective": "index.adj"}
# Closed-class words that WordNet also lists as rare nouns or adjectives ("at" the element,
# "am" the radio band): they are not content words a story can be asked to use.
FUNCTION_WORDS = set(
    "a about above across after again against all almost alone along already also although always"
    " am among an and another any anybody anyone anything are around as at away be because been"
    " before behind being below beneath beside besides between beyond both but by can could did do"
    " does down during each either else enough ever every few for from had has have he her here"
    " hers him his how i if in inside into is it its itself just least less many may me might mine"
    " more most much must my myself near neither never no nobody none nor not nothing now of off"
    " often on once one only onto or other our ours out outside over own past per perhaps quite"
    " rather same several shall she should since so some such than that the their them then there"
    " these they this those though through till to too toward towards under unless until up upon"
    " us very was we were what when where whether which while who whom whose why will with within"
    " without would yes yet you your yours".split()
)
# Proper names and adult themes have no place in a 3-year-old's story prompt.
EXCLUDED = set(
    "america american april august beer bible breast bullet butt christmas cigar cigarette"
    " december devil drunk dumb english february friday gay god gun hell january july june kill"
    " march may monday murder november october saturday september slave sunday thursday tuesday"
    " wednesday whip whiskey wine".split()
)


def easy_words() -> list[str]:
    from importlib.resources import files

    text = (files("textstat") / "resources" / "en" / "easy_words.txt").read_text()
    return sorted({w.strip().lower() for w in text.split() if w.strip().isalpha()})


def wordnet_pos_counts(wordnet: Path) -> tuple[dict[str, dict[str, int]], dict[str, set[str]]]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in (wordnet / "cntlist.rev").read_text().splitlines():
        sense_key, _, tag_count = line.split()
        lemma, _, rest = sense_key.partition("%")
        pos = SS_TYPE.get(rest[:1])
        if pos:
            counts[lemma][pos] += int(tag_count)
    known: dict[str, set[str]] = defaultdict(set)
    for pos, name in INDEX_FILES.items():
        for line in (wordnet / name).read_text().splitlines():
            if not line.startswith(" "):
                known[line.split(" ", 1)[0]].add(pos)
    return counts, known


def dominant_pos(word: str, counts, known) -> str | None:
    parts = known.get(word, set())
    if not parts:
        return None
    tagged = {p: c for p, c in counts.get(word, {}).items() if c > 0}
    if tagged:
        best = max(tagged, key=lambda p: (tagged[p], p))
        return best if best in parts else None
    return next(iter(parts)) if len(parts) == 1 else None


def build(size: int, wordnet: Path) -> list[dict]:
    from lemminflect import getLemma
    from wordfreq import zipf_frequency

    counts, known = wordnet_pos_counts(wordnet)
    upos = {"noun": "NOUN", "verb": "VERB", "adjective": "ADJ"}
    rows = []
    for word in easy_words():
        pos = dominant_pos(word, counts, known)
        if pos in (None, "adverb") or len(word) < 2 or word in FUNCTION_WORDS | EXCLUDED:
            continue
        # an inflected form under any part of speech ("ate", "broken", "children") is dropped
        if any(
            getLemma(word, upos=u, lemmatize_oov=False)[:1] not in ((), (word,))
            for u in upos.values()
        ):
            continue
        rows.append(
            {
                "word": word,
                "pos": pos,
                "zipf": round(zipf_frequency(word, "en"), 2),
                "wordnet_tag_count": sum(counts.get(word, {}).values()),
            }
        )
    rows.sort(key=lambda r: (-r["zipf"], r["word"]))
    return sorted(rows[:size], key=lambda r: (r["pos"], r["word"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("vocabulary.csv"))
    parser.add_argument(
        "--size", type=int, default=1500, help="words to keep (TinyStories: ~1,500)"
    )
    parser.add_argument("--wordnet", type=Path, default=WORDNET, help="WordNet 3.0 dict folder")
    args = parser.parse_args(argv)
    if not (args.wordnet / "cntlist.rev").exists():
        sys.exit(f"{args.wordnet}/cntlist.rev not found: apt-get install wordnet-base")
    rows = build(args.size, args.wordnet)
    with args.out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["word", "pos", "zipf", "wordnet_tag_count"])
        writer.writeheader()
        writer.writerows(rows)
    by_pos = defaultdict(int)
    for r in rows:
        by_pos[r["pos"]] += 1
    print(f"wrote {len(rows)} words to {args.out}: {dict(sorted(by_pos.items()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
