"""A worker Deployment on the :latest image: every reschedule may run another build."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import k8s_kit as kit

# MISCONFIGURATION: the image tag moves.
kit.worker("report-worker", image="ghcr.io/acme/report-worker:latest")
