"""Components used directly, without the YAML loader, enforce the same rules and say so once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mypy.api
import pytest

from eventinfra import (
    AlarmTarget,
    ConfigError,
    ConsumerRuntime,
    EventConsumer,
    EventConsumerArgs,
    EventProducer,
    EventTopic,
    LambdaConsumer,
    ParkingQueue,
)
from eventinfra.aws.validation import topic_arn_problems
from eventinfra.check.synth import Synthesis, record
from tests.support import REPOSITORY

ACCOUNT = "123456789012"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:orders-placed.fifo"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALERTS_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
SNIPPETS = Path(__file__).parent / "typing_snippets"


def refused(build: Callable[[], object]) -> tuple[ConfigError, Synthesis]:
    """The error `build` raises, and everything that was registered before it."""
    errors: list[ConfigError] = []

    def program() -> None:
        with pytest.raises(ConfigError) as raised:
            build()
        errors.append(raised.value)

    graph = record(program)
    (error,) = errors
    return error, graph


def problems(error: ConfigError) -> list[tuple[str, str]]:
    assert all(p.file is None and p.line is None for p in error.problems)
    return [(p.key_path, p.message) for p in error.problems]


def consumer(**overrides: Any) -> EventConsumerArgs:
    args: EventConsumerArgs = {
        "queue_name": "dev-orders",
        "dead_letter_queue_name": "dev-orders-dlq",
        "subscriptions": [{"label": "orders-placed", "topic_arn": TOPIC_ARN}],
        "kms_key_arn": KEY_ARN,
        "alarm_target": AlarmTarget(topic_arn=ALERTS_ARN),
    }
    args.update(overrides)  # type: ignore[typeddict-item]
    return args


def function(**overrides: Any) -> dict[str, Any]:
    return {
        "function_name": "dev-orders",
        "code_path": "handler",
        "handler": "app.handler",
        **overrides,
    }


def test_an_unsafe_fifo_lambda_consumer_is_refused_once_with_every_problem() -> None:
    args = consumer(
        queue_name="dev-orders.fifo",
        dead_letter_queue_name="dev-orders-dlq.fifo",
        fifo=True,
        visibility_timeout_seconds=30,
        runtime="lambda",
        lambda_function=function(timeout_seconds=900, batch_size=500),
    )
    error, graph = refused(lambda: EventConsumer("orders", args))
    assert problems(error) == [
        (
            "EventConsumer 'orders' args.lambda_function.batch_size",
            "expected at most 10 for a FIFO queue, found 500.",
        ),
        (
            "EventConsumer 'orders' args.lambda_function.batch_window_seconds",
            "expected at least 1 when batch_size is above 10 (found batch_size 500), found 0.",
        ),
        (
            "EventConsumer 'orders' args.visibility_timeout_seconds",
            "expected at least 5400 (6 x the Lambda timeout 900 + batching window 0, or "
            "messages are redelivered while still being processed), found 30.",
        ),
    ]
    # Checked before anything was registered: not even the component itself.
    assert graph.resources == []


def test_a_topic_without_its_key_names_the_missing_arg() -> None:
    error, graph = refused(lambda: EventTopic("t", {}))  # type: ignore[typeddict-item]
    assert problems(error) == [
        (
            "EventTopic 't' args.kms_key_arn",
            "is required; expected a value (EventTopicArgs), found none.",
        )
    ]
    assert str(error) == (
        "1 problem in the eventinfra configuration:\n"
        "  - <config>: EventTopic 't' args.kms_key_arn: is required; expected a value "
        "(EventTopicArgs), found none."
    )
    assert graph.resources == []


@pytest.mark.parametrize(
    ("arn", "because"),
    [
        ("*", "a wildcard would let every matching topic send to the queue (aws:SourceArn)"),
        (
            f"arn:aws:sns:us-east-1:{ACCOUNT}:orders-*",
            "a wildcard would let every matching topic send to the queue (aws:SourceArn)",
        ),
        (
            "arn:aws:sns:us-east-1:?:orders",
            "a wildcard would let every matching topic send to the queue (aws:SourceArn)",
        ),
        (
            f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders",
            "it becomes the queue policy's aws:SourceArn and the subscription's topic",
        ),
        (
            "arn:aws:sns:us-east-1:12345:orders",
            "it becomes the queue policy's aws:SourceArn and the subscription's topic",
        ),
        (
            f"arn:aws:sns:us-east-1:{ACCOUNT}:{'o' * 257}",
            "it becomes the queue policy's aws:SourceArn and the subscription's topic",
        ),
    ],
)
def test_a_topic_arn_that_is_not_one_topic_is_refused(arn: str, because: str) -> None:
    args = consumer(
        subscriptions=[
            {"label": "ok", "topic_arn": ALERTS_ARN},
            {"label": "orders-placed", "topic_arn": arn},
        ]
    )
    error, graph = refused(lambda: EventConsumer("orders", args))
    shown = repr(arn) if len(repr(arn)) <= 120 else repr(arn)[:117] + "..."
    assert problems(error) == [
        (
            "EventConsumer 'orders' args.subscriptions[1].topic_arn",
            f"gives the topic ARN {shown}; expected one SNS topic's ARN, "
            "arn:<partition>:sns:<region>:<12-digit account>:<topic name> with no wildcard, "
            f"because {because}.",
        )
    ]
    assert graph.resources == []


@pytest.mark.parametrize(
    "arn",
    [
        TOPIC_ARN,
        f"arn:aws-us-gov:sns:us-gov-west-1:{ACCOUNT}:orders",
        f"arn:aws-cn:sns:cn-north-1:{ACCOUNT}:{'o' * 256}",
    ],
)
def test_well_formed_topic_arns_pass(arn: str) -> None:
    assert topic_arn_problems(arn) == []


def test_wiring_passed_as_function_settings_is_an_unknown_key() -> None:
    args = consumer(runtime="lambda", lambda_function=function(queue_arn="arn:aws:sqs:x"))
    error, _ = refused(lambda: EventConsumer("orders", args))
    ((key_path, message),) = problems(error)
    assert key_path == "EventConsumer 'orders' args.lambda_function.queue_arn"
    assert message.startswith("is not a known key of LambdaFunctionArgs; expected one of: ")
    assert "batch_size" in message and "queue_arn" not in message.split(": ", 1)[1]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"runtime": "lambda"},
            [
                (
                    "EventConsumer 'orders' args.lambda_function",
                    "is required for runtime 'lambda'; expected the function's settings "
                    "(LambdaFunctionArgs), found none.",
                )
            ],
        ),
        (
            {"lambda_function": function()},
            [
                (
                    "EventConsumer 'orders' args.lambda_function",
                    "is set, but runtime is 'external'; expected either runtime 'lambda' or no "
                    "lambda_function, not both.",
                )
            ],
        ),
        (
            {"fifo": True},
            [
                (
                    "EventConsumer 'orders' args.dead_letter_queue_name",
                    "gives the queue name 'dev-orders-dlq'; expected a name ending in '.fifo' (FIFO).",
                ),
                (
                    "EventConsumer 'orders' args.queue_name",
                    "gives the queue name 'dev-orders'; expected a name ending in '.fifo' (FIFO).",
                ),
            ],
        ),
        (
            {"message_retention_seconds": 1_209_600},
            [
                (
                    "EventConsumer 'orders' args.message_retention_seconds",
                    "expected less than 1209600 (the dead-letter queue's 14 days, which must "
                    "outlive the queue's retention, or dead-lettered messages expire on "
                    "arrival), found 1209600.",
                )
            ],
        ),
        (
            {"max_receive_count": 0},
            [
                (
                    "EventConsumer 'orders' args.max_receive_count",
                    "expected an integer from 1 to 1000 (the SQS redrive policy limits), found 0.",
                )
            ],
        ),
        (
            {
                "subscriptions": [
                    {
                        "label": "orders-placed",
                        "topic_arn": TOPIC_ARN,
                        "filter_policy": {k: ["x"] for k in "abcdef"},
                    }
                ]
            },
            [
                (
                    "EventConsumer 'orders' args.subscriptions[0].filter_policy",
                    "expected at most 5 keys (the SNS filter policy limit), found 6: a, b, c, d, e, f.",
                )
            ],
        ),
        (
            {"runtime": "container"},
            [
                (
                    "EventConsumer 'orders' args.runtime",
                    "expected one of: 'lambda', 'external'; found 'container'.",
                )
            ],
        ),
        (
            {"alarm_target": {"period_seconds": 60}},
            [
                (
                    "EventConsumer 'orders' args.alarm_target.topic_arn",
                    "is required; expected a value (AlarmTargetArgs), found none.",
                )
            ],
        ),
        (
            {"alarm_target": AlarmTarget(topic_arn=ALERTS_ARN, period_seconds=45)},
            [
                (
                    "EventConsumer 'orders' args.alarm_target.period_seconds",
                    "expected 10, 20, 30 or a multiple of 60 up to 86400 (the periods "
                    "CloudWatch alarms accept), found 45.",
                )
            ],
        ),
        (
            {"subscriptions": [{"topic_arn": TOPIC_ARN}]},
            [
                (
                    "EventConsumer 'orders' args.subscriptions[0].label",
                    "is required; expected a value (SubscriptionArgs), found none.",
                )
            ],
        ),
    ],
)
def test_each_consumer_rule_is_reported_at_its_arg(
    overrides: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    error, _ = refused(lambda: EventConsumer("orders", consumer(**overrides)))
    assert problems(error) == expected


def test_the_runtime_enum_and_its_plain_string_build_the_same_consumer() -> None:
    def build(runtime: Any) -> Synthesis:
        args = consumer(runtime=runtime, lambda_function=function(timeout_seconds=30))
        return record(lambda: EventConsumer("orders", args))

    by_enum, by_string = build(ConsumerRuntime.LAMBDA), build("lambda")
    assert by_enum.by_type("aws:lambda/function:Function")
    assert [(r.urn, r.inputs) for r in by_enum.resources] == [
        (r.urn, r.inputs) for r in by_string.resources
    ]


def test_a_parking_queue_checks_its_alarm_target() -> None:
    args: Any = {"topic_arn": TOPIC_ARN, "kms_key_arn": KEY_ARN, "alarm_target": ALERTS_ARN}
    error, graph = refused(lambda: ParkingQueue("parked", args))
    assert problems(error) == [
        (
            "ParkingQueue 'parked' args.alarm_target",
            f"expected a mapping (AlarmTargetArgs), found {ALERTS_ARN!r}.",
        )
    ]
    assert not graph.by_type("eventinfra:index:ParkingQueue")


def test_a_topic_name_is_checked_against_the_sns_limits() -> None:
    name = "t" * 257
    error, _ = refused(lambda: EventTopic("t", {"kms_key_arn": KEY_ARN, "topic_name": name}))
    assert problems(error) == [
        (
            "EventTopic 't' args.topic_name",
            f"gives the SNS topic name {name!r} (257 characters); expected at most 256.",
        )
    ]


def test_a_producer_needs_a_topic() -> None:
    error, _ = refused(lambda: EventProducer("api", {"topic_arns": [], "kms_key_arn": KEY_ARN}))
    assert problems(error) == [
        ("EventProducer 'api' args.topic_arns", "expected at least one topic ARN, found none.")
    ]


def test_a_lambda_consumer_on_a_fifo_queue_takes_at_most_ten_a_batch() -> None:
    args: Any = {
        **function(batch_size=20, batch_window_seconds=1),
        "queue_arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:dev-orders.fifo",
        "kms_key_arn": KEY_ARN,
        "alarm_target": AlarmTarget(topic_arn=ALERTS_ARN),
    }
    error, _ = refused(lambda: LambdaConsumer("orders", args))
    assert problems(error) == [
        (
            "LambdaConsumer 'orders' args.batch_size",
            "expected at most 10 for a FIFO queue, found 20.",
        ),
        (
            "LambdaConsumer 'orders' args.batch_window_seconds",
            "expected 0 for a FIFO queue, as Lambda supports no batching window on FIFO "
            "sources, found 1.",
        ),
    ]


@pytest.mark.parametrize(
    ("overrides", "visibility"),
    [
        # 6 x the 60-second timeout + the 5-second batching window.
        (
            {
                "runtime": "lambda",
                "lambda_function": function(timeout_seconds=60, batch_window_seconds=5),
            },
            365,
        ),
        # The Lambda default timeout of 30 seconds.
        ({"runtime": "lambda", "lambda_function": function()}, 180),
        # An external consumer's processing time is unknown: the SQS default.
        ({}, 30),
    ],
)
def test_the_visibility_timeout_is_derived_when_left_out(
    overrides: dict[str, Any], visibility: int
) -> None:
    graph = record(lambda: EventConsumer("orders", consumer(**overrides)))
    assert graph.named("orders-queue").inputs["visibilityTimeoutSeconds"] == visibility


# --- the Args types -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mypy_report() -> str:
    # The package under test, not the editable install the shared virtualenv points at.
    environment = pytest.MonkeyPatch()
    environment.setenv("MYPYPATH", str(REPOSITORY / "components"))
    try:
        stdout, stderr, _ = mypy.api.run(
            [
                "--config-file",
                str(REPOSITORY / "pyproject.toml"),
                str(SNIPPETS / "topic_without_key.py"),
                str(SNIPPETS / "topic_with_key.py"),
            ]
        )
    finally:
        environment.undo()
    assert stderr == ""
    return stdout


def test_mypy_refuses_a_topic_without_its_key(mypy_report: str) -> None:
    errors = [line for line in mypy_report.splitlines() if ": error:" in line]
    assert len(errors) == 1, mypy_report
    assert errors[0].endswith(
        'typing_snippets/topic_without_key.py:5: error: Missing key "kms_key_arn" for '
        'TypedDict "EventTopicArgs"  [typeddict-item]'
    )


def test_mypy_accepts_truthful_args(mypy_report: str) -> None:
    assert "topic_with_key.py" not in mypy_report
