"""``python -m postino``: the same as the ``postino`` command."""

from .cli import main

main()
