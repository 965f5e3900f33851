"""A RabbitMQ classic queue: its messages live on one node and go when that node does."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import k8s_kit as kit

# MISCONFIGURATION: type classic (dead-lettering, retention and deletion policy are fine).
kit.queue("billing", queue_type="classic")
kit.dead_lettered("billing")
