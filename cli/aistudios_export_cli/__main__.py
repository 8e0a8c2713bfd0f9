"""`python -m aistudios_export_cli`: the same as the `aistudios-export` console script."""

import sys

from .main import main

sys.exit(main())
