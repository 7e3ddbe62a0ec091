"""``python -m econplan``: the same as the ``econplan`` command."""

from econplan.cli import main

main()
