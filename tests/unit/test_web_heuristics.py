import typing
from collections import Counter
from pathlib import Path

import pytest

from filters import RULE_SETS, C4Lines, GopherQuality, Repetition, apply_filters, web_filters
from schoolhouse.config import WebFilterConfig
from schoolhouse.datasets.readers import DocumentReader
from schoolhouse.datasets.records import Document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "web"
GOOD = list(DocumentReader().read(FIXTURES / "documents.jsonl"))
BAD = list(DocumentReader().read(FIXTURES / "bad.jsonl"))
FILTER_OF = {"gopher": GopherQuality(), "c4": C4Lines(), "degenerate": Repetition()}
EVERY_REASON = {
    "gopher_too_few_words",
    "gopher_too_many_words",
    "gopher_mean_word_length",
    "gopher_symbol_ratio",
    "gopher_bullet_lines",
    "gopher_ellipsis_lines",
    "gopher_alpha_words",
    "gopher_stop_words",
    "c4_lorem_ipsum",
    "c4_curly_brace",
    "c4_terminal_punct",
    "c4_javascript",
    "c4_policy",
    "degenerate_repetition",
}


def doc(text: str) -> Document:
    return Document(id="t", text=text, source="test")


@pytest.mark.parametrize("page", GOOD, ids=[d.id for d in GOOD])
def test_real_pages_pass_every_web_filter(page):
    assert apply_filters(web_filters(), page) is None


@pytest.mark.parametrize(
    "page", BAD, ids=[f"{d.metadata['expect']}:{d.metadata['source']}" for d in BAD]
)
def test_each_bad_page_gives_its_own_reason(page):
    expect = page.metadata["expect"]
    assert FILTER_OF[expect.split("_")[0]](page) == (False, expect)


def test_a_dump_of_real_pages_has_too_many_words():
    pages = "\n\n".join(d.text for d in GOOD)
    dump = doc("\n\n".join([pages] * (100_000 // len(pages.split()) + 1)))
    assert GopherQuality()(dump) == (False, "gopher_too_many_words")


def test_every_reason_is_exercised_by_a_fixture():
    covered = {d.metadata["expect"] for d in BAD} | {"gopher_too_many_words"}
    assert covered == EVERY_REASON


def test_a_footer_line_does_not_make_a_policy_page():
    # C4 deletes "privacy policy" lines; as a page rule it must not drop an article for its footer
    article = GOOD[0].text + "\n\nPrivacy Policy | Terms of Use | Contact"
    assert C4Lines()(doc(article)) is True
    assert C4Lines()(doc(article + "\nThis site uses cookies.\n" * 20)) == (False, "c4_policy")


def test_code_is_kept_when_curly_braces_are_allowed():
    code_page = next(d for d in BAD if d.metadata["expect"] == "c4_curly_brace")
    assert C4Lines(code_rules=False)(code_page) is True


MAIL = """Hi all,

I have been trying to get the new build of the mail filter to run on my old laptop, and
after a few hours of poking at it I think the problem is the way the configuration file
gets read when the home directory sits on a network share that mounts a little late in
the boot sequence, so the first run finds nothing and silently falls back to defaults
which then get written back over the real settings when the program exits cleanly, and
the next morning every rule I wrote over the last two years is simply gone from the file
while the backup copy that the installer was supposed to make is sitting there with the
same empty defaults in it, because it was taken from the very same broken file a second
after the first run wrote it, which makes the backup about as useful as no backup at all
in practice, as far as I can tell from the timestamps on both of those files.

Has anyone else seen this, or found a way to make the daemon wait for the share before
it starts reading anything at all from the directory on that machine, short of writing
a wrapper script that polls the mount point every few seconds until it shows up?

Thanks for any pointers
Sam
-- 
sam at example dot org
"""

SESSION = """List comprehensions provide a concise way to create lists:

>>> squares = [x**2 for x in range(10)]
>>> squares
[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]
>>> [(x, y) for x in [1, 2, 3] for y in [3, 1, 4] if x != y]
[(1, 3), (1, 4), (2, 3), (2, 1), (2, 4), (3, 1), (3, 4)]
>>> vec = [-4, -2, 0, 2, 4]
>>> [x*2 for x in vec]
[-8, -4, 0, 4, 8]
>>> [abs(x) for x in vec]
[4, 2, 0, 2, 4]

    def flatten(rows):
        return [value for row in rows for value in row]
"""

MENU = "\n".join(["Home", "Products and services", "Latest news from our team", "Contact us",
                  "Shop by category", "Sign in", "Careers", "Press room", "Site map",
                  "Help centre"] * 3)  # fmt: skip


def test_terminal_punctuation_reads_prose_lines_when_code_rules_are_off():
    # hard-wrapped mail: FineWeb's line ratio reads each 80-column line as a menu item
    assert C4Lines()(doc(MAIL)) == (False, "c4_terminal_punct")
    assert C4Lines(code_rules=False)(doc(MAIL)) is True
    # an interpreter session and a code block are not prose: the one prose line ends in ":"
    assert C4Lines()(doc(SESSION)) == (False, "c4_terminal_punct")
    assert C4Lines(code_rules=False)(doc(SESSION + "Each of them is a list.\n")) is True
    # short lines are not joined: a menu is still a menu
    assert C4Lines(code_rules=False)(doc(MENU)) == (False, "c4_terminal_punct")


def test_thresholds_are_the_papers():
    g = GopherQuality()
    assert (g.min_words, g.max_words) == (50, 100_000)
    assert (g.min_mean_word_length, g.max_mean_word_length) == (3, 10)
    assert (g.max_symbol_word_ratio, g.max_bullet_lines, g.max_ellipsis_lines) == (0.1, 0.9, 0.3)
    assert (g.min_alpha_words, g.min_stop_words) == (0.8, 2)
    assert C4Lines().min_terminal_lines == 0.12


def test_web_pipeline_counts_drops_per_reason():
    reasons = Counter(apply_filters(web_filters("fineweb-strict"), d) or "kept" for d in GOOD + BAD)
    assert reasons["kept"] == len(GOOD)
    assert sum(reasons.values()) == len(GOOD) + len(BAD)
    assert {"gopher_too_few_words", "degenerate_repetition", "c4_policy"} <= set(reasons)


# A JavaScript tutorial's page, written for this test: prose, code in braces, the language named
JS_TUTORIAL = """Functions in JavaScript

A function is a block of code that you can call by name. JavaScript lets you declare one with \
the function keyword, give it parameters, and return a value to the caller.

function area(width, height) {
  return width * height;
}

Call it with two numbers, as in area(3, 4), and it returns twelve. JavaScript also has arrow \
functions, which are shorter to write and are often passed to other functions as arguments.

const squares = [1, 2, 3].map((n) => {
  return n * n;
});

The map method calls the arrow function once for each element of the array and collects the \
results in a new array. In JavaScript, functions are values: you can store them in variables, \
keep them in objects, and return them from other functions."""


def test_code_pages_are_kept_by_the_default_rules():
    page = doc(JS_TUTORIAL)
    assert apply_filters(web_filters(), page) is None
    assert apply_filters(web_filters("fineweb-strict"), page) == "c4_curly_brace"
    no_braces = doc(JS_TUTORIAL.replace("{", "(").replace("}", ")"))
    assert C4Lines()(no_braces) == (False, "c4_javascript")  # 4 of 10 lines name JavaScript
    assert C4Lines(code_rules=False)(no_braces) is True
    lorem = doc(JS_TUTORIAL.replace("twelve.", "twelve. Sample text: Lorem ipsum dolor sit amet."))
    assert apply_filters(web_filters(), lorem) is None
    assert C4Lines()(lorem) == (False, "c4_lorem_ipsum")


def test_spam_is_still_dropped_by_the_default_rules():
    kinder = {"c4_curly_brace", "c4_lorem_ipsum"}  # the rules the default turns off
    for page in BAD:
        reason = apply_filters(web_filters(), page)
        if page.metadata["expect"] == "c4_curly_brace":
            assert reason is None  # a spam mail whose only fault is a CSS brace
        else:
            assert reason and reason not in kinder, page.metadata["expect"]
    notice = next(d for d in BAD if d.metadata["expect"] == "c4_javascript")
    assert C4Lines(code_rules=False)(notice) == (False, "c4_javascript")


def test_rule_sets_are_named_and_checked():
    assert typing.get_args(WebFilterConfig.model_fields["rules"].annotation) == tuple(RULE_SETS)
    assert WebFilterConfig.model_fields["rules"].default == "fineweb"
    assert [type(f).__name__ for f in web_filters("gopher")] == ["GopherQuality", "Repetition"]
    assert [type(f).__name__ for f in web_filters("c4")] == ["C4Lines"]
    with pytest.raises(ValueError, match="unknown rule set 'c5'"):
        web_filters("c5")
    with pytest.raises(ValueError, match="rules"):
        WebFilterConfig(inputs=["x"], out="y", rules="c5")
