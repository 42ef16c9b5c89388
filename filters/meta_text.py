import re

from filters.base import HasText

# Grammar terms are not words a 3-4-year-old's story uses (TinyStories, Eldan & Li 2023): a
# completion that names "the verb" or "the noun" is explaining how it met the prompt, as
# SmolLM2-135M did in 'In this story, the first sentence uses the verb "suffer"'.
ANYWHERE = re.compile(
    r"""
      \b(?:nouns?|verbs?|adjectives?|adverbs?)\b
    | \b(?:a|the)\ (?:3|three)[-\ ]years?[-\ ]old\ (?:child|kid)\ (?:would|could|can)\b
    | \b(?:the|this|your|my)\ prompt\b
    | \bvocabulary\ words?\b
    | \b(?:simple|limited|given|required|target)\ vocabulary\b
    | \b(?:only\ (?:use|uses|using|used)|use\ only|remember\ to\ use)\ (?:very\ )?simple\b
    | \b(?:story|i|i've|we)\ (?:have\ )?(?:use|uses|used)\ (?:only\ )?(?:very\ )?simple\ words\b
    | \b(?:this|the|my)\ (?:story|text)\ (?:uses|contains|includes|incorporates|meets|follows)\b
    | \b(?:3|three)\ ?(?:-|–|to)\ ?(?:4|four|5|five)[-\ ]years?[-\ ]olds?\b
    | \byear[-\ ]olds?\ (?:can|could|would|will)\ (?:easily\ )?understand\b
    | \bword\ count\b
    | \bin\ summary\b
    | \bsimple\ (?:words?|sentences?|language)\b
    | \b(?:plot\ twists?|foreshadowing|moral\ value|story\ features?)\b
    | \b(?:(?<!moral\ of\ )this\ (?:short\ |little\ )?story|at\ the\ time\ of\ (?:this|the)\ story)\b
    | \bthe\ rest\ of\ (?:the|this|my)\ story\b
    | \b(?:different|other|new|simple|big)\ words\ like\b
    | \bthe\ end\ of\ (?:the|this|my)\ story\ (?:is|was|will)\b
    | \b(?:is|was)\ (?:just|only)\ one\ (?:example|story|of\ (?:the\ )?many\ (?:stories|tales|examples))\b
    | \b(?:\d+|two|three|four)[-\ ](?:years?|months?)[-\ ]olds?\ (?:child|kid)(?:ren|s)?\b
    | \bfor\ (?:a\ )?(?:\d+|two|three|four)[-\ ]years?[-\ ]olds?(?!\ \w)
    | \[(?:your\ )?(?:name|child's\ name|character)\]
    | (?:^|\s)\#\w+(?:\s+\#\w+)+
    | ^[\ \t]*(?:q|a|question|answer)[\ \t]*:
    | ^[\ \t]*[\w'-]+[\ \t]*:[\ \t]*(?:this|it)\ means\b
    | \bthe\ (?:story|ending)\ (?:is\ about|is\ not|ends|ended|begins|began|starts|started|was\ written)\b
    | ^[\ \t]*[(\[*_]*[\ \t]*(?:note|notes|n\.b\.|p\.s\.)[*_]*[\ \t]*:
    """,
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)
# An assistant's preamble or a label, only where the completion begins: inside a story "Here
# is a story," can be what a character says.
START = re.compile(
    r"""
    \A\s*(?:
        (?:sure|certainly|of\ course|okay|ok|absolutely)\b\s*[!,.:]
      | here(?:'s|’s|\ is|\ are)\b[^\n]{0,80}?\b(?:story|stories|tale)\b
      | (?:title|story|word\ count)\s*:
      | i\ (?:will|would|can|'ll|’ll)\ (?:write|create)\b
      | as\ an\ ai\b
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Talk to the reader after the story, judged in the last paragraph with dialogue removed, since a
# character may well say "I hope you enjoyed the cake".
END = re.compile(
    r"""
      \bi\ hope\ (?:you|this|that|it)\b
    | \b(?:let\ me\ know|feel\ free|would\ you\ like|do\ you\ want\ me)\b
    | \b(?:this|the)\ story\ (?:is|was)\ (?:written|designed|meant|suitable|appropriate)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
THE_END = re.compile(r"^[\W_]*the\s+end[\W_]*$", re.IGNORECASE | re.MULTILINE)
QUOTED = re.compile(r"\"[^\"]*\"|“[^”]*”")


class MetaText:
    """The completion talks about the prompt or the task instead of telling a story: a preamble
    ("Sure! Here's a story:", "Title: ..."), a commentary ('the verb "jump"', "simple words", "the
    prompt") or a note after the story ("(Note: ...)", "I hope you enjoyed it", anything after a
    closing "The End"). A student trained on it learns to narrate its instructions. A bare "The
    End." and dialogue such as "Here is a story," said Mom. are kept."""

    name = "meta_text"

    def __call__(self, record: HasText):
        text = record.text
        if ANYWHERE.search(text) or START.search(text):
            return False, self.name
        end = THE_END.search(text)
        if end and text[end.end() :].strip():
            return False, self.name
        last = text.strip().rsplit("\n\n", 1)[-1]
        if END.search(QUOTED.sub("", last)):
            return False, self.name
        return True
