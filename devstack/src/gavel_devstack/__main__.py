"""``python -m gavel_devstack``: what ``scripts/stack`` runs."""

from gavel_devstack.cli import main

main()
