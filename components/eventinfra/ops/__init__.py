"""Operating a deployed stack: dead-letter queues and parked events, on SQS and RabbitMQ."""

from eventinfra.ops.model import Backend, InHand, QueueRef, QueueStat
from eventinfra.ops.moves import Audit, MoveResult, StopRequest, move, peek
from eventinfra.ops.outputs import StackOutputs, load_outputs, parse_outputs

__all__ = [
    "Audit",
    "Backend",
    "InHand",
    "MoveResult",
    "QueueRef",
    "QueueStat",
    "StackOutputs",
    "StopRequest",
    "load_outputs",
    "move",
    "parse_outputs",
    "peek",
]
