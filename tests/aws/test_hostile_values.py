"""User-written values that reach AWS JSON documents (IAM, queue, topic and key policies, filter
policies, the runtime's EVENTINFRA_EVENTS): refused where IAM would read them as wildcards or
policy variables, carried literally where they are data."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventinfra import EventConsumer, EventKey, EventProducer, EventTopic, LambdaConsumer
from eventinfra.aws.consumer import runtime_environment
from eventinfra.check.synth import record
from eventinfra.config.loader import load_platform_config
from eventinfra.errors import ConfigError
from tests.aws.test_components import policy, statement
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
from tests.aws.test_references import (
    PUBLISH,
    RESOLVED,
    SUBSCRIBE,
    later,
    resolved_error,
    role_message,
    shown,
    topic_message,
)
from tests.config.test_loader import problems_for, st, t
from tests.support.config_fixtures import write_project

QUEUE_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dev-orders"
DEAD_LETTER_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dev-orders-dlq"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/dev-orders-idempotency"

# Strings that would change what a JSON document or an IAM statement means if carried into it.
POLICY_VARIABLE = "${aws:username}"
JSON_BREAKERS = ['"}', '\\"', "a\nb", '"},{"Effect":"Allow","Action":"*","Resource":"*"}']

# --- ARNs that become the Resource of a grant ------------------------------------------------

KEY_FORM = "arn:<partition>:kms:<region>:<12-digit account>:key/<key id>"
QUEUE_FORM = "arn:<partition>:sqs:<region>:<12-digit account>:<queue name>"
TABLE_FORM = "arn:<partition>:dynamodb:<region>:<12-digit account>:table/<table name>"
FORMS = {"KMS key": KEY_FORM, "SQS queue": QUEUE_FORM, "DynamoDB table": TABLE_FORM}


def grant_message(arn: str, kind: str, grant: str, *, wildcard: bool) -> str:
    why = (
        f"IAM reads a wildcard or ${{...}} policy variable there as every matching {kind}, and "
        f"it becomes the Resource of {grant}"
        if wildcard
        else f"it becomes the Resource of {grant}"
    )
    return (
        f"gives the {kind} ARN {shown(arn)}; expected one {kind}'s ARN, {FORMS[kind]} with no "
        f"wildcard or policy variable, because {why}."
    )


def hostile_arns(good: str) -> list[tuple[str, bool]]:
    """(ARN, whether IAM would widen it): wildcards and a policy variable, then JSON breakers."""
    head, _, last = good.rpartition(":")
    resource = last.rsplit("/", 1)[0] + "/" if "/" in last else ""
    return [
        ("*", True),
        (f"{head}:{resource}*", True),
        (f"{head}:{resource}dev-orders?", True),
        (f"{head}:{resource}{POLICY_VARIABLE}", True),
        (good.replace(ACCOUNT, "*"), True),
        *[(good + breaker, "*" in breaker) for breaker in JSON_BREAKERS],
    ]


def lambda_consumer(**wired: Any) -> None:
    LambdaConsumer(
        "orders",
        {
            **function(),  # type: ignore[typeddict-item]
            "queue_arn": QUEUE_ARN,
            "kms_key_arn": KEY_ARN,
            "alarm_target": {"topic_arn": ALERTS_ARN},
            "dead_letter_queue_arn": DEAD_LETTER_ARN,
            "idempotency_table_arn": TABLE_ARN,
            **wired,
        },
    )


# (case id, the ARN's key, a valid ARN, build with a given ARN, key path, kind, grant)
GRANT_CASES: list[tuple[str, str, Callable[[Any], object], str, str, str]] = [
    (
        "producer-key",
        KEY_ARN,
        lambda arn: EventProducer("api", {"topic_arns": [TOPIC_ARN], "kms_key_arn": arn}),
        "EventProducer 'api' args.kms_key_arn",
        "KMS key",
        "the producer's kms:GenerateDataKey grant",
    ),
    (
        "consumer-key",
        KEY_ARN,
        lambda arn: EventConsumer("orders", consumer(kms_key_arn=arn)),
        "EventConsumer 'orders' args.kms_key_arn",
        "KMS key",
        "the consumer's kms:Decrypt grant (and its queues' key)",
    ),
    (
        "lambda-queue",
        QUEUE_ARN,
        lambda arn: lambda_consumer(queue_arn=arn),
        "LambdaConsumer 'orders' args.queue_arn",
        "SQS queue",
        "the function's sqs:ReceiveMessage grant",
    ),
    (
        "lambda-dead-letter-queue",
        DEAD_LETTER_ARN,
        lambda arn: lambda_consumer(dead_letter_queue_arn=arn),
        "LambdaConsumer 'orders' args.dead_letter_queue_arn",
        "SQS queue",
        "the function's sqs:SendMessage grant",
    ),
    (
        "lambda-key",
        KEY_ARN,
        lambda arn: lambda_consumer(kms_key_arn=arn),
        "LambdaConsumer 'orders' args.kms_key_arn",
        "KMS key",
        "the function's kms:Decrypt grant",
    ),
    (
        "lambda-table",
        TABLE_ARN,
        lambda arn: lambda_consumer(idempotency_table_arn=arn),
        "LambdaConsumer 'orders' args.idempotency_table_arn",
        "DynamoDB table",
        "the function's dynamodb:PutItem grant",
    ),
]
GRANT_PARAMS = [
    pytest.param(build, key_path, kind, grant, arn, wildcard, id=f"{case}-{index}")
    for case, good, build, key_path, kind, grant in GRANT_CASES
    for index, (arn, wildcard) in enumerate(hostile_arns(good))
]


@pytest.mark.parametrize(("build", "key_path", "kind", "grant", "arn", "wildcard"), GRANT_PARAMS)
def test_an_arn_that_would_widen_a_grant_is_refused(
    build: Callable[[Any], object], key_path: str, kind: str, grant: str, arn: str, wildcard: bool
) -> None:
    error, graph = refused(lambda: build(arn))
    assert problems(error) == [(key_path, grant_message(arn, kind, grant, wildcard=wildcard))]
    assert graph.resources == []


@pytest.mark.parametrize(
    ("build", "key_path", "kind", "grant"),
    [case[2:] for case in GRANT_CASES],
    ids=[case[0] for case in GRANT_CASES],
)
def test_an_arn_output_is_checked_once_it_resolves(
    build: Callable[[Any], object], key_path: str, kind: str, grant: str
) -> None:
    arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{POLICY_VARIABLE}"
    error = resolved_error(lambda: build(later(arn)))
    expected = grant_message(arn, kind, grant, wildcard=True)
    assert problems(error) == [(key_path, expected.replace("gives", "resolved to", 1) + RESOLVED)]


def test_well_formed_arns_reach_the_grants_exactly() -> None:
    graph = record(lambda_consumer)
    document = policy(graph.named("orders-role-policy"))
    assert statement(document, "ConsumeQueue")["Resource"] == [QUEUE_ARN]
    assert statement(document, "DecryptMessages")["Resource"] == [KEY_ARN]
    assert statement(document, "IdempotencyRecords")["Resource"] == [TABLE_ARN]
    assert statement(document, "DeadLetterPoison")["Resource"] == [DEAD_LETTER_ARN]
    assert graph.named("orders-event-source").inputs["eventSourceArn"] == QUEUE_ARN


# --- topic and role ARNs: policy variables too -----------------------------------------------


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:sns:us-east-1:{ACCOUNT}:{POLICY_VARIABLE}",
        f"arn:aws:sns:us-east-1:{ACCOUNT}:orders" + '"}',
        f"arn:aws:sns:us-east-1:{ACCOUNT}:orders\\",
    ],
)
def test_a_topic_arn_with_a_policy_variable_or_a_quote_is_refused(arn: str) -> None:
    error, _ = refused(lambda: EventProducer("api", {"topic_arns": [arn], "kms_key_arn": KEY_ARN}))
    assert problems(error) == [
        ("EventProducer 'api' args.topic_arns[0]", topic_message(arn, False, PUBLISH))
    ]
    error, _ = refused(
        lambda: EventConsumer("orders", consumer(subscriptions=[{"label": "a", "topic_arn": arn}]))
    )
    assert problems(error) == [
        (
            "EventConsumer 'orders' args.subscriptions[0].topic_arn",
            topic_message(arn, False, SUBSCRIBE),
        )
    ]


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:iam::{ACCOUNT}:role/{POLICY_VARIABLE}",
        f"arn:aws:iam::{ACCOUNT}:role/api" + '"}',
    ],
)
def test_a_role_arn_with_a_policy_variable_or_a_quote_is_refused(arn: str) -> None:
    error, _ = refused(
        lambda: EventTopic("orders", {"kms_key_arn": KEY_ARN, "publisher_role_arns": [arn]})
    )
    assert problems(error) == [
        ("EventTopic 'orders' args.publisher_role_arns[0]", role_message(arn, False))
    ]


# --- names through the loader: refused before they reach any document -------------------------

# Names become topic, queue, table and function names, hence the ARNs in every policy and the
# dashboards' QueueName dimensions: a character IAM or JSON reads specially never gets there.
LOADER_CASES: dict[str, tuple[dict[str, Any], tuple[str, int, str, str]]] = {
    "event_name_wildcard": (
        dict(topology=t(lambda x: x["events"].update({"user.*": {}}))),
        (
            "topology.yaml",
            29,
            'events."user.*"',
            "is not a valid name; expected an event name of letters, digits, '.', '_' and '-' "
            "(like 'user.signup'), found 'user.*'.",
        ),
    ),
    "consumer_name_quote": (
        dict(
            topology=t(
                lambda x: x["consumers"].update(
                    {'a"}': {"subscribes": ["user.signup"], "runtime": "external"}}
                )
            )
        ),
        (
            "topology.yaml",
            2,
            'consumers."a"}"',
            "is not a valid name; expected a name of lowercase letters, digits and '-' (a DNS "
            "label, at most 63 characters, like 'welcome-email'), found 'a\"}'.",
        ),
    ),
    "producer_name_policy_variable": (
        dict(
            topology=t(
                lambda x: x["producers"].update({POLICY_VARIABLE: {"publishes": ["user.signup"]}})
            )
        ),
        (
            "topology.yaml",
            33,
            f'producers."{POLICY_VARIABLE}"',
            "is not a valid name; expected a name of lowercase letters, digits and '-' (a DNS "
            f"label, at most 63 characters, like 'accounts-api'), found '{POLICY_VARIABLE}'.",
        ),
    ),
    "role_arn_policy_variable": (
        dict(
            topology=t(
                lambda x: x["producers"]["accounts-api"].update(
                    {"role_arn": f"arn:aws:iam::{ACCOUNT}:role/{POLICY_VARIABLE}"}
                )
            )
        ),
        (
            "topology.yaml",
            36,
            "producers.accounts-api.role_arn",
            "expected an IAM role ARN, like `arn:aws:iam::123456789012:role/accounts-api` "
            "(ASCII; a role name of at most 64 of `A-Z a-z 0-9 + = , . @ _ -`), that gets the "
            f"producer's publish policy, found 'arn:aws:iam::{ACCOUNT}:role/{POLICY_VARIABLE}'.",
        ),
    ),
    "name_prefix_wildcard": (
        dict(settings=st(lambda x: x.update({"name_prefix": "dev*"}))),
        (
            "Pulumi.dev.yaml",
            6,
            "config.eventinfra:settings.name_prefix",
            "expected letters, digits and '-', at most 40 (the prefix of every physical name; "
            "default: the stack name), found 'dev*'.",
        ),
    ),
}


@pytest.mark.parametrize("case", LOADER_CASES)
def test_a_name_iam_or_json_reads_specially_is_refused_by_the_loader(
    case: str, tmp_path: Path
) -> None:
    inputs, expected = LOADER_CASES[case]
    assert problems_for(tmp_path, **inputs) == [expected]


def test_a_stack_name_used_as_the_prefix_is_refused_when_iam_would_read_it(
    tmp_path: Path,
) -> None:
    stack_file = write_project(tmp_path, None, st(lambda x: x.pop("name_prefix")))
    raw = yaml.safe_load(stack_file.read_text())["config"]["eventinfra:settings"]
    with pytest.raises(ConfigError) as raised:
        load_platform_config(raw, stack="qa${aws:username}", project_dir=tmp_path)
    found = [(p.key_path, p.message) for p in raised.value.problems]
    assert (
        "config.eventinfra:settings.name_prefix",
        "expected a prefix of letters, digits, '-' and '_' (it begins every SNS, SQS, Lambda "
        "and DynamoDB name), found the prefix 'qa${aws:username}' (the stack name).",
    ) in found
    # Every name it begins is refused too, where it is derived.
    assert {key for key, _ in found} == {
        "config.eventinfra:settings.name_prefix",
        "consumers.analytics",
        "consumers.welcome-email",
        'events."user.signup"',
        'events."order.placed"',
        'events."invoice.paid"',
    }


# --- data: carried literally ------------------------------------------------------------------

HOSTILE_FILTER = {"plan": [*JSON_BREAKERS, POLICY_VARIABLE, "*", "?"], "region": [{"prefix": '"}'}]}


def test_a_filter_value_is_carried_literally_into_the_filter_policy() -> None:
    args = consumer(
        subscriptions=[
            {"label": "orders-placed", "topic_arn": TOPIC_ARN, "filter_policy": HOSTILE_FILTER}
        ]
    )

    def program() -> None:
        EventConsumer("orders", args)

    graph = record(program)
    subscription = graph.named("orders-orders-placed-subscription").inputs
    assert json.loads(subscription["filterPolicy"]) == HOSTILE_FILTER
    assert subscription["filterPolicyScope"] == "MessageAttributes"


def test_a_filter_value_from_the_topology_passes_the_loader(tmp_path: Path) -> None:
    hostile = t(
        lambda x: x["consumers"]["welcome-email"]["subscribes"][0].update(
            {"filter": {"plan": [*JSON_BREAKERS, POLICY_VARIABLE]}}
        )
    )
    stack_file = write_project(tmp_path, hostile, None)
    raw = yaml.safe_load(stack_file.read_text())["config"]["eventinfra:settings"]
    config = load_platform_config(raw, stack="dev", project_dir=tmp_path, stack_file=stack_file)
    subscription = config.topology.consumers["welcome-email"].subscribes[0]
    assert subscription.filter == {"plan": [*JSON_BREAKERS, POLICY_VARIABLE]}


@pytest.mark.parametrize("group_key", [*JSON_BREAKERS, POLICY_VARIABLE, "</script>"])
def test_a_group_key_is_carried_literally_into_the_runtime_events(group_key: str) -> None:
    environment = runtime_environment(
        "orders",
        [{"label": "a", "topic_arn": TOPIC_ARN, "event": "order.placed", "group_key": group_key}],
        fifo=True,
        dead_letter_queue_url="https://sqs/dlq",
        table_name=None,
        idempotency=None,
    )
    events = json.loads(str(environment["EVENTINFRA_EVENTS"]))
    assert list(events) == ["order.placed"]
    assert events["order.placed"]["group_key"] == group_key


# --- service principals -----------------------------------------------------------------------

HOSTILE_SERVICES = ["*", "*.amazonaws.com", POLICY_VARIABLE, 'events.amazonaws.com"}', "sns"]


def service_message(service: str, allowed: str) -> str:
    return (
        f"gives the service principal {service!r}; expected an AWS service's principal, like "
        "'cloudwatch.amazonaws.com', with no wildcard or policy variable, because it becomes "
        f"the Principal allowed to {allowed}."
    )


@pytest.mark.parametrize("service", HOSTILE_SERVICES)
def test_a_key_service_principal_that_is_no_service_is_refused(service: str) -> None:
    services = ["cloudwatch.amazonaws.com", service]
    error, graph = refused(lambda: EventKey("events", {"service_principals": services}))
    assert problems(error) == [
        (
            "EventKey 'events' args.service_principals[1]",
            service_message(service, "encrypt with the key (kms:GenerateDataKey)"),
        )
    ]
    assert graph.resources == []


@pytest.mark.parametrize("service", HOSTILE_SERVICES)
def test_a_topic_publisher_service_that_is_no_service_is_refused(service: str) -> None:
    args: Any = {"kms_key_arn": KEY_ARN, "publisher_services": [service]}
    error, graph = refused(lambda: EventTopic("alerts", args))
    assert problems(error) == [
        (
            "EventTopic 'alerts' args.publisher_services[0]",
            service_message(service, "publish to the topic (sns:Publish)"),
        )
    ]
    assert graph.resources == []


def test_service_principals_reach_the_policies_exactly() -> None:
    def program() -> None:
        EventKey("events", {"service_principals": ["cloudwatch.amazonaws.com"]})
        EventTopic(
            "alerts", {"kms_key_arn": KEY_ARN, "publisher_services": ["cloudwatch.amazonaws.com"]}
        )

    graph = record(program)
    key = statement(policy(graph.named("events-key")), "ServicesEncryptMessages")
    assert key["Principal"] == {"Service": ["sns.amazonaws.com", "cloudwatch.amazonaws.com"]}
    topic = statement(policy(graph.named("alerts-policy")), "AllowServices")
    assert topic["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}


@pytest.mark.parametrize("queue_name", ["dev-*", f"dev-{POLICY_VARIABLE}", 'dev"}'])
def test_a_queue_name_output_is_checked_before_it_reaches_the_redrive_allow_policy(
    queue_name: str,
) -> None:
    error = resolved_error(lambda: EventConsumer("orders", consumer(queue_name=later(queue_name))))
    assert problems(error) == [
        (
            "EventConsumer 'orders' args.queue_name",
            f"resolved to the queue name {queue_name!r}; expected only letters, digits, '-' and "
            f"'_'.{RESOLVED}",
        )
    ]
