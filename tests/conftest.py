"""Shared fixtures. The model cache ($SCHOOLHOUSE_CACHE) is the user's: converting the embedded
teacher once per machine, not once per test session, is the point of caching it."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import pytest

# Prefect's harness caches results under PREFECT_HOME: keep it out of the user's ~/.prefect.
os.environ.setdefault(
    "PREFECT_HOME", str(Path(os.environ.get("TMPDIR", "/tmp")) / "schoolhouse-test-prefect")
)
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
# `--judge auto` reads it: tests of generation with a fake teacher open no real judge unless
# they ask for one (tests/unit/test_sense.py, tests/integration/test_engine_judge.py)
os.environ["SCHOOLHOUSE_JUDGE"] = "none"

STORY = """Once upon a time, in a small town, there lived a girl named Mia. Mia had a {adjective} \
{noun} that she loved more than anything. Every morning she would {verb} with it in the garden \
while her mother watered the flowers.

One day, a big wind came and the sky turned gray. Mia was scared, but her friend Tom said, "Do \
not worry, we can be brave together." They held hands and waited under the old tree until the \
storm went away.

When the sun came back, the children ran to the pond to look at the ducks. Tom laughed when a \
little duck tried to catch a bug and fell into the water. Mia smiled and gave the duck some bread.

That night, Mia told her mother about the wind, the ducks and her kind friend. Her mother \
hugged her and said that friends make hard days easier. Mia fell asleep with a happy heart."""


def story_for(prompt: str, **overrides) -> str:
    """A plausible story that uses the words a story prompt asked for."""
    asked = dict(zip(("verb", "noun", "adjective"), re.findall(r'"(\w+)"', prompt), strict=False))
    return STORY.format(**(asked | overrides))


@pytest.fixture
def verify():
    from filters import apply_filters, story_filters

    return functools.partial(apply_filters, story_filters())
