"""`python -m schoolhouse.cli`: the same as the `schoolhouse` command."""

from . import main

main()
