"""`python -m zkcert.cli`: the same entry point as the `zkcert` command."""

import sys

from . import main

sys.exit(main())
