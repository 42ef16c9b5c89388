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


class C4Lines:
    """C4's cheap page rules, one reason each: lorem ipsum, curly braces (code), too few lines
    ending in terminal punctuation (menus, lists), and pages made of JavaScript or policy
    notices. Not taken from C4: its bad-words list (a blocklist is a policy choice, not a quality
    rule), its minimum of 3 sentences and 5-word lines (GopherQuality's 50 words covers short
    pages) and its 3-sentence span dedup (schoolhouse.dedup does dedup)."""

    name = "c4_lines"

    def __init__(
        self,
        min_terminal_lines: float = MIN_TERMINAL_LINES,
        max_notice_lines: float = MAX_NOTICE_LINES,
        curly_brace: bool = True,
    ):
        self.min_terminal_lines, self.max_notice_lines = min_terminal_lines, max_notice_lines
        self.curly_brace = curly_brace

    def __call__(self, record: HasText):
        text = record.text
        lower = text.lower()
        if "lorem ipsum" in lower:
            return False, "c4_lorem_ipsum"
        if self.curly_brace and "{" in text:
            return False, "c4_curly_brace"
        lines = [line.strip() for line in lower.splitlines() if line.strip()]
        if not lines:
            return False, "c4_terminal_punct"
        if sum("javascript" in line for line in lines) / len(lines) > self.max_notice_lines:
            return False, "c4_javascript"
        policy = sum(any(p in line for p in POLICY) for line in lines)
        if policy / len(lines) > self.max_notice_lines:
            return False, "c4_policy"
        if sum(line.endswith(TERMINAL) for line in lines) / len(lines) < self.min_terminal_lines:
            return False, "c4_terminal_punct"
        return True
