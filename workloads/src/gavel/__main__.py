"""``python -m gavel``: the same as the ``gavel`` console script."""

from gavel.cli import main

main()
