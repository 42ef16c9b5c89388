from filters.base import HasText


class MinTokens:
    """Too short to teach anything: Cosmopedia (Ben Allal et al. 2024) drops outputs under 150
    tokens. Counts the teacher's own completion tokens, so no tokenizer is loaded here."""

    name = "too_short"

    def __init__(self, min_tokens: int = 150):
        self.min_tokens = min_tokens

    def __call__(self, record: HasText):
        return record.completion_tokens >= self.min_tokens or (False, self.name)
