"""The benchmarks a run can be decontaminated against, by name.

The config checks `--decontaminate` against these names without loading any benchmark;
`schoolhouse.graders.decontaminate` registers one reader for each name and for no other.
"""

NAMES = ("humaneval",)
