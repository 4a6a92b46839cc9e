"""``python -m gavel.devstack``: what ``scripts/stack`` runs."""

from gavel.devstack.cli import main

main()
