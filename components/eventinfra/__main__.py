"""`python -m eventinfra check …`, the same as the `eventinfra` command."""

import sys

from eventinfra.check.cli import main

sys.exit(main())
