import re

from filters.base import HasText

# Violence, illness and adult themes a story for a 3-4-year-old does not hold (TinyStories asks
# for stories a small child understands; a small teacher still writes "they all died from cancer"
# and "a sizzling mop of blood"). Whole words only: "skill", "bloom" and "gunny" stay.
NOT_FOR_CHILDREN = re.compile(
    r"""\b(?:
        kill(?:s|ed|ing|er|ers)? | murder(?:s|ed|ing|er|ers)? | suicide | cancer | tumou?r
      | blood(?:y|ied)? | corpses? | dead\ bod(?:y|ies) | tortur(?:e|ed|es|ing)
      | guns? | gunshots? | rifles? | pistols? | weapons? | bombs? | stab(?:s|bed|bing)?
      | drugs? | cocaine | heroin | drunk | whiskey | vodka
      | sex(?:y|ual)? | naked | nude | porn\w*
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)


class ForChildren:
    """A story for young children holds no killing, blood, weapons, drugs, illness such as
    cancer, or adult themes; one that does is dropped whole (a reader would not keep it)."""

    name = "not_for_children"

    def __call__(self, record: HasText):
        return not NOT_FOR_CHILDREN.search(record.text) or (False, self.name)
