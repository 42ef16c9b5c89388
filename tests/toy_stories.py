"""A small fixed corpus for student tests: simple stories from a seeded grammar.

Deterministic on every machine (Python's Mersenne Twister), learnable (a tiny model's loss drops
within a few dozen steps), and real enough to tokenize: names, dialogue, punctuation.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

NAMES = ["Lily", "Tom", "Mia", "Ben", "Sue", "Max", "Anna", "Sam"]
ANIMALS = ["dog", "cat", "bird", "fish", "frog", "duck", "bunny", "bear"]
THINGS = ["ball", "box", "kite", "hat", "cake", "boat", "tree", "flower"]
ADJECTIVES = ["big", "little", "red", "happy", "soft", "shiny", "funny", "brave"]
VERBS = ["found", "saw", "liked", "took", "shared", "hugged", "painted", "fixed"]
PLACES = ["park", "garden", "house", "lake", "forest", "beach"]


def story(rng: random.Random) -> str:
    name, friend = rng.sample(NAMES, 2)
    animal, thing, place = rng.choice(ANIMALS), rng.choice(THINGS), rng.choice(PLACES)
    adj, adj2 = rng.sample(ADJECTIVES, 2)
    verb = rng.choice(VERBS)
    lines = [
        f"{name} went to the {place} with a {adj} {animal}.",
        f"At the {place}, {name} {verb} a {adj2} {thing}.",
        f'"Look at my {thing}!" said {name}. {friend} smiled and said, "It is so {adj2}!"',
        f"The {animal} wanted the {thing} too, so {name} shared it with the {animal}.",
        f"{name} and {friend} played all day. They were very happy.",
    ]
    return " ".join(lines[: rng.randint(3, 5)])


def write_stories(path: Path, n: int = 400, seed: int = 0) -> Path:
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"id": i, "text": story(rng)}) + "\n")
    return path
