"""Entry point of ``python -m sklearn_meta`` and the ``sklearn-meta`` script."""

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
