"""Make the pack's rules package importable, as `python -m pulumi.policy` does for the pack."""

import sys
from pathlib import Path

POLICY_PACK = Path(__file__).resolve().parents[2] / "policies"
if str(POLICY_PACK) not in sys.path:
    sys.path.insert(0, str(POLICY_PACK))
