"""`python -m eventinfra_runtime.kafka package.module:handler` runs a Kafka container consumer."""

from __future__ import annotations

import importlib
import sys

from eventinfra_runtime.kafka.consumer import KafkaEventConsumer


def main(argv: list[str]) -> int:
    if len(argv) != 1 or ":" not in argv[0]:
        print("usage: python -m eventinfra_runtime.kafka package.module:handler", file=sys.stderr)
        return 2
    module_name, _, attribute = argv[0].partition(":")
    handler = getattr(importlib.import_module(module_name), attribute)
    KafkaEventConsumer(handler).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
