"""ARNs given to components from outside (alarm targets, producers' topics, a parking queue's
topic, publisher roles) are checked before they reach a policy document or a resource: plain
strings with the other Args, Outputs once they resolve."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest

from eventinfra import (
    AlarmTarget,
    ConfigError,
    EventConsumer,
    EventProducer,
    EventTopic,
    LambdaConsumer,
    ParkingQueue,
    SnsSqsPlatform,
    load_platform_config,
)
from eventinfra.aws.validation import role_arn_problems
from eventinfra.check.synth import Synthesis, record
from eventinfra.check.synth.run import _unwrap_sdk_wrappers
from tests.aws.test_contract import (
    ACCOUNT,
    ALERTS_ARN,
    KEY_ARN,
    TOPIC_ARN,
    consumer,
    function,
    problems,
    refused,
)
from tests.provider.test_platform_args import platform_args
from tests.support.config_fixtures import base_settings, base_topology, write_project

FORM = "arn:<partition>:sns:<region>:<12-digit account>:<topic name> with no wildcard"
ROLE_FORM = (
    "arn:<partition>:iam::<12-digit account>:role/<name> (ASCII; a role name of at most 64 of "
    "A-Z a-z 0-9 + = , . @ _ -) with no wildcard"
)
RESOLVED = (
    " Check the value it comes from (a StackReference output, or the stack's mock values for "
    "`eventinfra check`)."
)
BAD_TOPIC_ARNS = [
    ("*", True),
    (f"arn:aws:sns:us-east-1:{ACCOUNT}:*", True),
    (f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts?", True),
    (f"arn:aws:sqs:us-east-1:{ACCOUNT}:alerts", False),
    (f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts\n", False),
    (f"arn:aws:sns:us-east-1:{ACCOUNT}:alërts", False),
    ("", False),
]
BAD_ROLE_ARNS = [
    ("*", True),
    (f"arn:aws:iam::{ACCOUNT}:role/*", True),
    (f"arn:aws:iam::{ACCOUNT}:role/api?", True),
    (f"arn:aws:iam::{ACCOUNT}:user/api", False),
    (f"arn:aws:iam::{ACCOUNT}:role/äpi", False),
    (f"arn:aws:iam::{ACCOUNT}:role/{'a' * 65}", False),
    ("arn:aws:iam::12345:role/api", False),
    (f"arn:aws:iam::{ACCOUNT}:role/api\n", False),
]


def shown(value: str) -> str:
    return repr(value) if len(repr(value)) <= 120 else repr(value)[:117] + "..."


def topic_message(arn: str, wildcard: bool, reason: tuple[str, str]) -> str:
    return (
        f"gives the topic ARN {shown(arn)}; expected one SNS topic's ARN, {FORM}, because "
        f"{reason[0] if wildcard else reason[1]}."
    )


ALARM = (
    "a wildcard is no alarm action and would leave the alarms silent",
    "it becomes the alarms' ALARM and OK actions",
)
PUBLISH = (
    "a wildcard would let the producer publish to every matching topic (sns:Publish)",
    "it becomes the Resource of the producer's sns:Publish policy",
)
SUBSCRIBE = (
    "a wildcard would let every matching topic send to the queue (aws:SourceArn)",
    "it becomes the queue policy's aws:SourceArn and the subscription's topic",
)


def role_message(arn: str, wildcard: bool) -> str:
    why = (
        "a wildcard would let every matching principal publish (Principal, aws:PrincipalArn)"
        if wildcard
        else "it becomes the topic policy's Principal allowed to publish"
    )
    return (
        f"gives the role ARN {shown(arn)}; expected one IAM role's ARN, {ROLE_FORM}, because {why}."
    )


def lambda_consumer(target: Any) -> None:
    LambdaConsumer(
        "orders",
        {
            **function(),  # type: ignore[typeddict-item]
            "queue_arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:dev-orders",
            "kms_key_arn": KEY_ARN,
            "alarm_target": target,
            "dead_letter_queue_arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:dev-orders-dlq",
        },
    )


def parking(**overrides: Any) -> Any:
    return {
        "topic_arn": TOPIC_ARN,
        "kms_key_arn": KEY_ARN,
        "alarm_target": AlarmTarget(topic_arn=ALERTS_ARN),
        "queue_name": "dev-orders-parking.fifo",
        "fifo": True,
        **overrides,
    }


ALARM_TAKERS: list[tuple[str, Callable[[Any], object]]] = [
    ("EventConsumer", lambda t: EventConsumer("orders", consumer(alarm_target=t))),
    ("LambdaConsumer", lambda_consumer),
    ("ParkingQueue", lambda t: ParkingQueue("orders", parking(alarm_target=t))),
]


@pytest.mark.parametrize(("component", "build"), ALARM_TAKERS, ids=[c for c, _ in ALARM_TAKERS])
@pytest.mark.parametrize(("arn", "wildcard"), BAD_TOPIC_ARNS)
def test_an_alarm_target_that_is_not_one_topic_is_refused(
    component: str, build: Callable[[Any], object], arn: str, wildcard: bool
) -> None:
    error, graph = refused(lambda: build(AlarmTarget(topic_arn=arn)))
    assert problems(error) == [
        (f"{component} 'orders' args.alarm_target.topic_arn", topic_message(arn, wildcard, ALARM))
    ]
    assert graph.resources == []


@pytest.mark.parametrize(("arn", "wildcard"), BAD_TOPIC_ARNS)
def test_a_producer_topic_arn_that_is_not_one_topic_is_refused(arn: str, wildcard: bool) -> None:
    args: Any = {"topic_arns": [TOPIC_ARN, arn], "kms_key_arn": KEY_ARN}
    error, graph = refused(lambda: EventProducer("api", args))
    assert problems(error) == [
        ("EventProducer 'api' args.topic_arns[1]", topic_message(arn, wildcard, PUBLISH))
    ]
    assert graph.resources == []


@pytest.mark.parametrize(("arn", "wildcard"), BAD_TOPIC_ARNS)
def test_a_parking_queue_topic_arn_that_is_not_one_topic_is_refused(
    arn: str, wildcard: bool
) -> None:
    error, graph = refused(lambda: ParkingQueue("orders", parking(topic_arn=arn)))
    assert problems(error) == [
        ("ParkingQueue 'orders' args.topic_arn", topic_message(arn, wildcard, SUBSCRIBE))
    ]
    assert graph.resources == []


@pytest.mark.parametrize(("arn", "wildcard"), BAD_ROLE_ARNS)
def test_a_publisher_role_arn_that_is_not_one_role_is_refused(arn: str, wildcard: bool) -> None:
    args: Any = {
        "kms_key_arn": KEY_ARN,
        "publisher_role_arns": [f"arn:aws:iam::{ACCOUNT}:role/api", arn],
    }
    error, graph = refused(lambda: EventTopic("orders", args))
    assert problems(error) == [
        ("EventTopic 'orders' args.publisher_role_arns[1]", role_message(arn, wildcard))
    ]
    assert graph.resources == []


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:iam::{ACCOUNT}:role/api",
        f"arn:aws-cn:iam::{ACCOUNT}:role/service/team/{'a' * 64}",
        f"arn:aws-us-gov:iam::{ACCOUNT}:role/a+b=c,d.e@f_g-h",
    ],
)
def test_well_formed_role_arns_pass(arn: str) -> None:
    assert role_arn_problems(arn) == []


def resolved_error(build: Callable[[], object]) -> ConfigError:
    """The ConfigError raised once an Output resolves, as `eventinfra check` finds it under
    the SDK's wrapping."""

    def program() -> None:
        build()

    with pytest.raises(Exception) as raised:
        record(program)
    error = _unwrap_sdk_wrappers(raised.value)
    assert isinstance(error, ConfigError), raised.value
    return error


def later(value: str) -> pulumi.Output[str]:
    """A value known only once the program runs, like a StackReference output."""
    return pulumi.Output.from_input(value)


# alarm-parking and publisher-role fail a resource nothing else waits on (an alarm, a topic
# policy): the SDK's re-raise replaces their cause with themselves (see
# `eventinfra.check.synth.run._wrapped_by_sdk`), the others fail a resource other RPCs wait on.
RESOLVED_CASES: list[tuple[str, Callable[[str], object], str, str]] = [
    (
        "alarm-consumer",
        lambda arn: EventConsumer(
            "orders", consumer(alarm_target=AlarmTarget(topic_arn=later(arn)))
        ),
        "EventConsumer 'orders' args.alarm_target.topic_arn",
        "topic-alarm",
    ),
    (
        "alarm-lambda",
        lambda arn: lambda_consumer(AlarmTarget(topic_arn=later(arn))),
        "LambdaConsumer 'orders' args.alarm_target.topic_arn",
        "topic-alarm",
    ),
    (
        "alarm-parking",
        lambda arn: ParkingQueue("orders", parking(alarm_target=AlarmTarget(topic_arn=later(arn)))),
        "ParkingQueue 'orders' args.alarm_target.topic_arn",
        "topic-alarm",
    ),
    (
        "parking-topic",
        lambda arn: ParkingQueue("orders", parking(topic_arn=later(arn))),
        "ParkingQueue 'orders' args.topic_arn",
        "topic-subscribe",
    ),
    (
        "producer",
        lambda arn: EventProducer("api", {"topic_arns": [later(arn)], "kms_key_arn": KEY_ARN}),
        "EventProducer 'api' args.topic_arns[0]",
        "topic-publish",
    ),
    (
        "publisher-role",
        lambda arn: EventTopic(
            "orders", {"kms_key_arn": KEY_ARN, "publisher_role_arns": [later(arn)]}
        ),
        "EventTopic 'orders' args.publisher_role_arns[0]",
        "role",
    ),
]


@pytest.mark.parametrize(
    ("build", "key_path", "kind"),
    [case[1:] for case in RESOLVED_CASES],
    ids=[case[0] for case in RESOLVED_CASES],
)
@pytest.mark.parametrize("arn", ["*", "arn:aws:sns:us-east-1:123456789012:*", "not-an-arn"])
def test_an_output_is_checked_once_it_resolves(
    build: Callable[[str], object], key_path: str, kind: str, arn: str
) -> None:
    error = resolved_error(lambda: build(arn))
    wildcard = "*" in arn
    expected = {
        "topic-alarm": lambda: topic_message(arn, wildcard, ALARM),
        "topic-publish": lambda: topic_message(arn, wildcard, PUBLISH),
        "topic-subscribe": lambda: topic_message(arn, wildcard, SUBSCRIBE),
        "role": lambda: role_message(arn, wildcard),
    }[kind]().replace("gives", "resolved to", 1) + RESOLVED
    assert problems(error) == [(key_path, expected)]


# --- the deploying account ---------------------------------------------------------------------

OTHER_ACCOUNT = "210987654321"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/accounts-api"
OTHER_ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/accounts-api"


def platform_program(
    tmp_path: Path, role_arn: str, *, cross_account: bool = False
) -> tuple[Callable[[], None], Path]:
    """A platform whose producer `accounts-api` has `role_arn`, and its topology file."""
    topology = base_topology()
    producer = topology["producers"]["accounts-api"]
    producer["role_arn"] = role_arn
    if cross_account:
        producer["cross_account"] = True
    stack_file = write_project(tmp_path, topology)
    config = load_platform_config(
        base_settings(), stack="dev", project_dir=tmp_path, stack_file=stack_file
    )

    def program() -> None:
        SnsSqsPlatform.from_config("events", config)

    return program, tmp_path / "topology.yaml"


def mock_account(tmp_path: Path, account_id: str) -> Path:
    mocks = tmp_path / "Pulumi.dev.mocks.yaml"
    mocks.write_text(f"account_id: '{account_id}'\n")
    return mocks


def publishers(graph: Synthesis) -> list[str]:
    document = json.loads(graph.named("events-event-user-signup-policy").inputs["policy"])
    (allow,) = [s for s in document["Statement"] if s.get("Sid") == "AllowProducers"]
    principals: list[str] = allow["Principal"]["AWS"]
    return principals


def attachments(graph: Synthesis) -> list[str]:
    return [
        r.inputs["role"] for r in graph.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    ]


def account_refusal(
    program: Callable[[], None], mock_values: Path | None = None
) -> list[tuple[Path | None, int | None, str, str]]:
    with pytest.raises(Exception) as raised:
        record(program, mock_values=mock_values)
    error = _unwrap_sdk_wrappers(raised.value)
    assert isinstance(error, ConfigError), raised.value
    return [(p.file, p.line, p.key_path, p.message) for p in error.problems]


def other_account_message(arn: str, arn_account: str, deploying: str) -> str:
    return (
        f"gives the role ARN {arn!r} of account {arn_account}, but the stack deploys to account "
        f"{deploying}; expected a role of account {deploying}, or `cross_account: true` beside "
        "it when the role is another account's (the topic policy then lets it publish, and its "
        "own account grants it sns:Publish), because the publish policy is attached by role "
        f"name and would reach the role 'accounts-api' of account {deploying} instead."
    )


def test_a_producer_role_of_the_deploying_account_gets_the_publish_policy(tmp_path: Path) -> None:
    program, _ = platform_program(tmp_path, ROLE)
    graph = record(program)
    assert attachments(graph) == ["accounts-api"]
    assert publishers(graph) == [ROLE]


def test_a_producer_role_of_another_account_is_refused_at_its_line(tmp_path: Path) -> None:
    program, topology = platform_program(tmp_path, OTHER_ROLE)
    line = next(
        n for n, text in enumerate(topology.read_text().splitlines(), 1) if "role_arn" in text
    )
    assert account_refusal(program) == [
        (
            topology,
            line,
            "producers.accounts-api.role_arn",
            other_account_message(OTHER_ROLE, OTHER_ACCOUNT, ACCOUNT),
        )
    ]


def test_a_cross_account_producer_role_is_granted_by_the_topic_policy_only(
    tmp_path: Path,
) -> None:
    program, _ = platform_program(tmp_path, OTHER_ROLE, cross_account=True)
    graph = record(program)
    assert attachments(graph) == []
    assert publishers(graph) == [OTHER_ROLE]
    # SNS encrypts with the platform's key on the role's behalf: the key must let it.
    key_policy = json.loads(graph.named("events-key-key").inputs["policy"])
    (encrypt,) = [
        s for s in key_policy["Statement"] if s["Sid"] == "OtherAccountPublishersEncryptViaSns"
    ]
    assert encrypt["Principal"] == {"AWS": [OTHER_ROLE]}
    assert graph.named("events-producer-accounts-api-publish-policy")  # still there to hand over


def test_the_mock_values_set_the_deploying_account(tmp_path: Path) -> None:
    mocks = mock_account(tmp_path, OTHER_ACCOUNT)
    (tmp_path / "other").mkdir()
    (tmp_path / "same").mkdir()
    passing, _ = platform_program(tmp_path / "other", OTHER_ROLE)
    assert attachments(record(passing, mock_values=mocks)) == ["accounts-api"]
    failing, topology = platform_program(tmp_path / "same", ROLE)
    ((file, _, key_path, message),) = account_refusal(failing, mocks)
    assert (file, key_path) == (topology, "producers.accounts-api.role_arn")
    assert message == other_account_message(ROLE, ACCOUNT, OTHER_ACCOUNT)


@pytest.mark.parametrize("cross_account", [False, True])
def test_a_producer_role_of_another_partition_is_refused(
    tmp_path: Path, cross_account: bool
) -> None:
    arn = f"arn:aws-cn:iam::{OTHER_ACCOUNT}:role/accounts-api"
    program, topology = platform_program(tmp_path, arn, cross_account=cross_account)
    ((file, _, key_path, message),) = account_refusal(program)
    assert (file, key_path) == (topology, "producers.accounts-api.role_arn")
    assert message == (
        f"gives the role ARN {arn!r} in partition 'aws-cn', but the stack deploys to partition "
        "'aws'; expected a role of partition 'aws', because IAM cannot grant a principal of "
        "another partition."
    )


def test_platform_args_name_the_args_key_of_another_accounts_role(tmp_path: Path) -> None:
    args = platform_args(tmp_path)
    args["producers"]["accounts-api"]["role_arn"] = OTHER_ROLE

    def program() -> None:
        SnsSqsPlatform("events", args)

    assert account_refusal(program) == [
        (
            None,
            None,
            "producers.accounts-api.roleArn",
            other_account_message(OTHER_ROLE, OTHER_ACCOUNT, ACCOUNT),
        )
    ]
    args["producers"]["accounts-api"]["cross_account"] = True
    assert attachments(record(program)) == []
