from filters.base import HasText

# C4's rules (Raffel et al. 2020, section 2.2). C4 deletes bad lines from a page; a filter keeps
# the text whole, so its line rules become page ratios here.
TERMINAL = (".", "!", "?", '"', "'", "”", "’")
# FineWeb (Penedo et al. 2024) turned C4's terminal-punctuation rule into this page ratio.
MIN_TERMINAL_LINES = 0.12
POLICY = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
)
# Our choice, no published value: a page whose "javascript" or policy lines are more than a fifth
# of its lines is a notice or a cookie wall; one such footer line in an article is not.
MAX_NOTICE_LINES = 0.2
# Our choice: with the code rules off, a "javascript" line counts as a notice only with one of
# these ("Please enable JavaScript", "JavaScript is disabled", "turn on JavaScript").
NOTICE_WORDS = ("enable", "disabled", "turn on", "turned off")
# Our choice: with the code rules off, the terminal-punctuation ratio is of prose lines. A line
# of at least WRAPPED characters that runs on into the next non-blank line is one line hard-wrapped
# (mail, man pages, plain-text books wrap at ~72; a menu item or a heading is shorter), and a
# line of code (a shell or interpreter prompt, or indented by four spaces or a tab: a code
# block) is not prose and does not count.
WRAPPED = 40
CODE_PROMPTS = (">>>", "... ", "$ ", "# ", "% ", "C:\\>", "In [")


def is_code(line: str) -> bool:
    """A line of code in extracted text: indented as a code block, or a prompt's line."""
    return line.startswith(("    ", "\t")) or line.lstrip().startswith(CODE_PROMPTS)


def prose_lines(text: str) -> list[str]:
    """The text's prose lines, stripped and lower-cased, hard-wrapped lines joined, code left
    out."""
    out: list[str] = []
    joining = False
    for raw in text.splitlines():
        if not raw.strip():
            joining = False
            continue
        if is_code(raw):
            joining = False
            continue
        line = raw.strip().lower()
        if joining:
            out[-1] += " " + line
        else:
            out.append(line)
        joining = len(line) >= WRAPPED and not line.endswith(TERMINAL)
    return out


class C4Lines:
    """C4's cheap page rules, one reason each: lorem ipsum, curly braces (code), too few lines
    ending in terminal punctuation (menus, lists), and pages made of JavaScript or policy
    notices. `code_rules=False` makes the rules that drop pages showing code or markup kind to
    code: the curly brace (any C, Java, JSON or CSS sample) and lorem ipsum (placeholder text in
    HTML and CSS tutorials) are off, a "javascript" line counts only if it asks to enable
    JavaScript (a JavaScript tutorial names the language on most lines), and the terminal
    punctuation ratio is of prose lines (`prose_lines`: code lines left out, hard-wrapped
    lines joined), so a tutorial's interpreter sessions and a plain-text mail's 72-column
    lines are not read as a menu; a page with no prose line is left to the other rules. Not
    taken from C4:
    its bad-words list (a blocklist is a policy choice, not a quality rule), its minimum of 3
    sentences and 5-word lines (GopherQuality's 50 words covers short pages) and its 3-sentence
    span dedup (schoolhouse.graders.dedup does dedup)."""

    name = "c4_lines"

    def __init__(
        self,
        min_terminal_lines: float = MIN_TERMINAL_LINES,
        max_notice_lines: float = MAX_NOTICE_LINES,
        code_rules: bool = True,
    ):
        self.min_terminal_lines, self.max_notice_lines = min_terminal_lines, max_notice_lines
        self.code_rules = code_rules

    def __call__(self, record: HasText):
        text = record.text
        lower = text.lower()
        if self.code_rules and "lorem ipsum" in lower:
            return False, "c4_lorem_ipsum"
        if self.code_rules and "{" in text:
            return False, "c4_curly_brace"
        lines = [line.strip() for line in lower.splitlines() if line.strip()]
        if not lines:
            return False, "c4_terminal_punct"
        javascript = [line for line in lines if "javascript" in line]
        if not self.code_rules:  # a JavaScript tutorial names it; a notice asks to enable it
            javascript = [line for line in javascript if any(w in line for w in NOTICE_WORDS)]
        if len(javascript) / len(lines) > self.max_notice_lines:
            return False, "c4_javascript"
        policy = sum(any(p in line for p in POLICY) for line in lines)
        if policy / len(lines) > self.max_notice_lines:
            return False, "c4_policy"
        if not self.code_rules:
            lines = prose_lines(text)
            if not lines:
                return True
        if sum(line.endswith(TERMINAL) for line in lines) / len(lines) < self.min_terminal_lines:
            return False, "c4_terminal_punct"
        return True
