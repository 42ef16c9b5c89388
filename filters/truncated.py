from schoolhouse.datasets.records import Story


class Truncated:
    """The teacher hit max_tokens: the story has no ending."""

    name = "truncated"

    def __call__(self, story: Story):
        return story.finish_reason != "length" or (False, "truncated")
