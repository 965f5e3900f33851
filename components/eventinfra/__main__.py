"""`python -m eventinfra check …`, the same as the `eventinfra` command."""

import sys

from eventinfra.cli import main

sys.exit(main())
