"""Inputs AWS, Kubernetes or RabbitMQ would refuse at deploy time are refused by the loader,
each with one sentence that names the file, line and key path."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventinfra.config.loader import load_platform_config
from eventinfra.errors import ConfigError
from tests.config.test_loader import problems_for, st, t
from tests.support.config_fixtures import base_topology, write_project


def lambda_(x: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = x["consumers"]["welcome-email"]["lambda"]
    return result


def set_in(mapping: dict[str, Any], **values: Any) -> None:
    mapping.update(values)


def off_aws(**changes: Any) -> Callable[[dict[str, Any]], None]:
    """A change of base_settings(): drop what only the SNS/SQS broker reads, then set `changes`."""

    def change(settings: dict[str, Any]) -> None:
        settings.pop("alarms")
        settings.pop("tags")
        settings.update(changes)

    return change


def without_lambda_consumer(topology: dict[str, Any]) -> None:
    """base_topology() for a Kubernetes broker: the Lambda consumer dropped, its event kept."""
    topology["consumers"].pop("welcome-email")
    topology["consumers"]["analytics"].update(subscribes=["user.signup"])


CASES: dict[str, tuple[dict[str, Any], list[tuple[Any, ...]]]] = {
    # 1. physical-name collisions
    "event_takes_alerts_topic": (
        dict(topology=t(lambda x: x["events"].update({"eventinfra-alerts": {}}))),
        [
            (
                "topology.yaml",
                25,
                "events.eventinfra-alerts",
                "gives the SNS topic name 'dev-eventinfra-alerts' (the topic of event "
                "'eventinfra-alerts'), which is already the platform's alerts topic (from "
                "eventinfra itself); expected names that give distinct physical names.",
            )
        ],
    ),
    "consumer_takes_a_dead_letter_queue": (
        dict(
            topology=t(
                lambda x: x["consumers"].update(
                    {"analytics-dlq": {"subscribes": ["order.placed"], "runtime": "external"}}
                )
            )
        ),
        [
            (
                "topology.yaml",
                7,
                "consumers.analytics-dlq",
                "gives the SQS queue name 'dev-analytics-dlq' (the queue of consumer "
                "'analytics-dlq'), which is already the dead-letter queue of consumer "
                "'analytics' (from consumers.analytics); expected names that give distinct "
                "physical names.",
            )
        ],
    ),
    "consumer_takes_a_parking_queue": (
        dict(
            topology=t(
                lambda x: x["consumers"].update(
                    {
                        "invoice-paid-parking": {
                            "subscribes": ["order.placed"],
                            "runtime": "external",
                        }
                    }
                )
            )
        ),
        [
            (
                "topology.yaml",
                7,
                "consumers.invoice-paid-parking",
                "gives the SQS queue name 'dev-invoice-paid-parking' (the queue of consumer "
                "'invoice-paid-parking'), which is already the parking queue of event "
                "'invoice.paid' (from events.\"invoice.paid\"); expected names that give "
                "distinct physical names.",
            )
        ],
    ),
    # 2. paths stay inside the project
    "schema_absolute": (
        dict(topology=t(lambda x: x["events"]["user.signup"].update(schema="/etc/passwd"))),
        [
            (
                "topology.yaml",
                31,
                'events."user.signup".schema',
                "expected a JSON Schema file relative to the topology file, found the absolute "
                "path '/etc/passwd'.",
            )
        ],
    ),
    "schema_escapes": (
        dict(topology=t(lambda x: x["events"]["user.signup"].update(schema="../secret.json"))),
        [
            (
                "topology.yaml",
                31,
                'events."user.signup".schema',
                "expected a JSON Schema file inside the project folder <root>, found "
                "'../secret.json', which resolves outside it.",
            )
        ],
    ),
    "schema_is_a_folder": (
        dict(topology=t(lambda x: x["events"]["user.signup"].update(schema="functions"))),
        [
            (
                "topology.yaml",
                31,
                'events."user.signup".schema',
                "expected a JSON Schema file, found 'functions', which is a folder.",
            )
        ],
    ),
    "code_is_a_file": (
        dict(topology=t(lambda x: lambda_(x).update(code="user.json"))),
        [
            (
                "topology.yaml",
                13,
                "consumers.welcome-email.lambda.code",
                "expected a folder with the function's code, found 'user.json', which is a file.",
            )
        ],
    ),
    "code_escapes": (
        dict(topology=t(lambda x: lambda_(x).update(code="../.."))),
        [
            (
                "topology.yaml",
                13,
                "consumers.welcome-email.lambda.code",
                "expected a folder with the function's code inside the project folder <root>, "
                "found '../..', which resolves outside it.",
            )
        ],
    ),
    # 3. role ARNs
    "role_arn_not_ascii": (
        dict(
            topology=t(
                lambda x: x["producers"]["accounts-api"].update(
                    role_arn="arn:aws:iam::123456789012:role/acc\u043eunts"  # a Cyrillic o
                )
            )
        ),
        [
            (
                "topology.yaml",
                36,
                "producers.accounts-api.role_arn",
                "expected an IAM role ARN, like `arn:aws:iam::123456789012:role/accounts-api` "
                "(ASCII; a role name of at most 64 of `A-Z a-z 0-9 + = , . @ _ -`), that gets "
                "the producer's publish policy, found 'arn:aws:iam::123456789012:role/acc\u043eunts'.",
            )
        ],
    ),
    # 6. prefixes
    "prefix_dots_on_aws": (
        dict(settings=st(lambda x: x.pop("name_prefix")), stack="my.stack"),
        [],  # placeholder: replaced below (the stack name drives the prefix)
    ),
    "aws_settings_on_rabbitmq": (
        dict(
            settings=st(lambda x: x.update(broker="rabbitmq", name_prefix="k8s")),
            topology=t(without_lambda_consumer),
        ),
        [
            (
                "Pulumi.dev.yaml",
                8,
                "config.eventinfra:settings.alarms.email",
                "is set, but broker 'rabbitmq' does not use it (it applies to broker "
                "'sns-sqs'); expected no such key, since its value would be ignored.",
            ),
            (
                "Pulumi.dev.yaml",
                9,
                "config.eventinfra:settings.tags",
                "is set, but broker 'rabbitmq' does not use it (it applies to broker "
                "'sns-sqs'); expected no such key, since its value would be ignored.",
            ),
        ],
    ),
    "rabbitmq_settings_on_kafka": (
        dict(
            settings=st(off_aws(broker="kafka", name_prefix="kfk", rabbitmq={"replicas": 3})),
            topology=t(without_lambda_consumer),
        ),
        [
            (
                "Pulumi.dev.yaml",
                7,
                "config.eventinfra:settings.rabbitmq",
                "is set, but broker 'kafka' does not use it (it applies to broker 'rabbitmq'); "
                "expected no such key, since its value would be ignored.",
            ),
        ],
    ),
    # Kafka reads max_receive_count (the consumer runtime's attempts) and no other queue key.
    "queue_settings_on_kafka": (
        dict(
            settings=st(
                off_aws(
                    broker="kafka",
                    name_prefix="kfk",
                    queues={"max_receive_count": 7, "visibility_multiplier": 3},
                )
            ),
            topology=t(without_lambda_consumer),
        ),
        [
            (
                "Pulumi.dev.yaml",
                9,
                "config.eventinfra:settings.queues.visibility_multiplier",
                "is set, but broker 'kafka' does not use it (it applies to broker 'sns-sqs'); "
                "expected no such key, since its value would be ignored.",
            ),
        ],
    ),
    "prefix_uppercase_on_rabbitmq": (
        dict(
            settings=st(off_aws(broker="rabbitmq", name_prefix="Dev")),
            topology=t(without_lambda_consumer),
        ),
        [
            (
                "Pulumi.dev.yaml",
                6,
                "config.eventinfra:settings.name_prefix",
                "expected a prefix of lowercase letters, digits and '-' (it names Kubernetes "
                "objects and the RabbitMQ vhost), found the prefix 'Dev'.",
            )
        ],
    ),
    "prefix_not_a_service_name": (
        dict(
            settings=st(off_aws(broker="rabbitmq", name_prefix="1dev")),
            topology=t(without_lambda_consumer),
        ),
        [
            (
                "Pulumi.dev.yaml",
                6,
                "config.eventinfra:settings.name_prefix",
                "gives the Kubernetes Service name '1dev-idempotency' (the idempotency store's "
                "Service); expected a DNS-1035 label: at most 63 lowercase letters, digits and "
                "'-', starting with a letter.",
            ),
            (
                "Pulumi.dev.yaml",
                6,
                "config.eventinfra:settings.name_prefix",
                "gives the Kubernetes Service name '1dev-rabbitmq' (the broker's Service); "
                "expected a DNS-1035 label: at most 63 lowercase letters, digits and '-', "
                "starting with a letter.",
            ),
        ],
    ),
    "role_name_too_long": (
        dict(
            topology=t(
                lambda x: x["consumers"].update({"w" * 52: x["consumers"].pop("welcome-email")})
            )
        ),
        [
            (
                "topology.yaml",
                7,
                f"consumers.{'w' * 52}",
                f"gives the IAM role name '{'w' * 52}-role' plus Pulumi's 8-character suffix "
                "(65 characters); expected at most 64, so a logical name of at most 56.",
            )
        ],
    ),
    # 7. filter policies
    "filter_unknown_operator": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["subscribes"][0].update(
                    filter={"plan": [{"wildcard": "p*"}]}
                )
            )
        ),
        [
            (
                "topology.yaml",
                22,
                "consumers.welcome-email.subscribes[0].filter.plan[0]",
                "expected one of the SNS filter operators (anything-but, equals-ignore-case, "
                "exists, numeric, prefix, suffix), found 'wildcard'.",
            )
        ],
    ),
    "filter_nested": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["subscribes"][0].update(
                    filter={"plan": [{"numeric": ["<", 5, ">", 1]}]}
                )
            )
        ),
        [
            (
                "topology.yaml",
                22,
                "consumers.welcome-email.subscribes[0].filter.plan[0].numeric",
                "expected a comparison like ['>=', 10] or a range like ['>', 0, '<=', 5]: a "
                "lower bound ('>' or '>=') first.",
            )
        ],
    ),
    "filter_exists_not_bool": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["subscribes"][0].update(
                    filter={"plan": [{"exists": "yes"}]}
                )
            )
        ),
        [
            (
                "topology.yaml",
                22,
                "consumers.welcome-email.subscribes[0].filter.plan[0].exists",
                "expected true or false, found 'yes'.",
            )
        ],
    ),
    "filter_number_out_of_range": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["subscribes"][0].update(
                    filter={"plan": [2_000_000_000]}
                )
            )
        ),
        [
            (
                "topology.yaml",
                22,
                "consumers.welcome-email.subscribes[0].filter.plan[0]",
                "expected a number between -1,000,000,000 and 1,000,000,000 (the SNS numeric "
                "matching range), found 2000000000.",
            )
        ],
    ),
    # 8. Lambda
    "runtime_unsupported": (
        dict(topology=t(lambda x: lambda_(x).update(runtime="python2.7"))),
        [
            (
                "topology.yaml",
                16,
                "consumers.welcome-email.lambda.runtime",
                "expected a Python or Node.js runtime Lambda supports (python3.9, python3.10, "
                "python3.11, python3.12, python3.13, python3.14, nodejs18.x, nodejs20.x, "
                "nodejs22.x, nodejs24.x), found 'python2.7'.",
            )
        ],
    ),
    "node_handler_missing": (
        dict(
            topology=t(lambda x: lambda_(x).update(runtime="nodejs22.x", handler="index.handler"))
        ),
        [
            (
                "topology.yaml",
                14,
                "consumers.welcome-email.lambda.handler",
                "expected a file index.js, .mjs or .cjs in the code folder for handler "
                "'index.handler'; it does not exist.",
            )
        ],
    ),
    "env_bad_name": (
        dict(topology=t(lambda x: lambda_(x).update(environment={"1BAD": "x"}))),
        [
            (
                "topology.yaml",
                15,
                "consumers.welcome-email.lambda.environment.1BAD",
                "expected a variable name of a letter then letters, digits and '_' (at least 2 "
                "characters, the Lambda rule), found '1BAD'.",
            )
        ],
    ),
    "env_reserved": (
        dict(topology=t(lambda x: lambda_(x).update(environment={"AWS_REGION": "x"}))),
        [
            (
                "topology.yaml",
                15,
                "consumers.welcome-email.lambda.environment.AWS_REGION",
                "is a variable Lambda reserves for itself; expected another name, found "
                "'AWS_REGION'.",
            )
        ],
    ),
    "env_shadows_eventinfra": (
        dict(
            topology=t(lambda x: lambda_(x).update(environment={"EVENTINFRA_IDEMPOTENCY_KEY": "x"}))
        ),
        [
            (
                "topology.yaml",
                15,
                "consumers.welcome-email.lambda.environment.EVENTINFRA_IDEMPOTENCY_KEY",
                "is a variable eventinfra sets for eventinfra-runtime; expected another "
                "name, found 'EVENTINFRA_IDEMPOTENCY_KEY'.",
            )
        ],
    ),
    "env_too_large": (
        dict(topology=t(lambda x: lambda_(x).update(environment={"BIG": "x" * 4000}))),
        [
            (
                "topology.yaml",
                14,
                "consumers.welcome-email.lambda.environment",
                "expected at most 4096 bytes of names and values (the Lambda limit, counting the "
                "8 variables eventinfra adds), found 4443.",
            )
        ],
    ),
    # 10. CloudWatch and tags
    "alarm_period": (
        dict(settings=st(lambda x: x["alarms"].update(period_seconds=90))),
        [
            (
                "Pulumi.dev.yaml",
                9,
                "config.eventinfra:settings.alarms.period_seconds",
                "expected 10, 20, 30 or a multiple of 60 up to 86400 (the periods CloudWatch "
                "alarms accept), found 90.",
            )
        ],
    ),
    "tag_aws_prefix": (
        dict(settings=st(lambda x: x["tags"].update({"aws:owner": "me"}))),
        [
            (
                "Pulumi.dev.yaml",
                11,
                "config.eventinfra:settings.tags.aws:owner",
                "starts with 'aws:', which AWS reserves; expected another prefix.",
            )
        ],
    ),
    "tag_too_many": (
        dict(settings=st(lambda x: x["tags"].update({f"t{i}": "v" for i in range(48)}))),
        [
            (
                "Pulumi.dev.yaml",
                9,
                "config.eventinfra:settings.tags",
                "gives 52 tags with the 3 eventinfra adds; expected at most 50 (the AWS limit).",
            )
        ],
    ),
    "tag_value_too_long": (
        dict(settings=st(lambda x: x["tags"].update(team="x" * 257))),
        [
            (
                "Pulumi.dev.yaml",
                10,
                "config.eventinfra:settings.tags.team",
                "expected a value of at most 256 characters, found 257.",
            )
        ],
    ),
    # 11. idempotency key
    "idempotency_key_not_jmespath": (
        dict(
            topology=t(lambda x: x["consumers"]["welcome-email"]["idempotency"].update(key="a-b"))
        ),
        [
            (
                "topology.yaml",
                9,
                "consumers.welcome-email.idempotency.key",
                "expected a JMESPath expression like `orderId` or `order.id` (invalid at column "
                "2; quote names with '-' in them, like `\"order-id\"`), found 'a-b'.",
            )
        ],
    ),
}
del CASES["prefix_dots_on_aws"]


@pytest.mark.parametrize("case", CASES)
def test_each_unsafe_input_is_refused_exactly(tmp_path: Path, case: str) -> None:
    inputs, expected = CASES[case]
    assert problems_for(tmp_path, **inputs) == expected


def load(root: Path, stack: str = "dev") -> Any:
    stack_file = root / "stacks" / f"Pulumi.{stack}.yaml"
    raw = yaml.safe_load(stack_file.read_text())["config"]["eventinfra:settings"]
    return load_platform_config(raw, stack=stack, project_dir=root, stack_file=stack_file)


def refused(root: Path, stack: str = "dev") -> list[tuple[Any, ...]]:
    with pytest.raises(ConfigError) as raised:
        load(root, stack)
    return [
        (p.file.name if p.file else None, p.line, p.key_path, p.message)
        for p in raised.value.problems
    ]


def test_a_stack_name_that_is_no_aws_name_is_refused_as_the_prefix(tmp_path: Path) -> None:
    settings = {"topology": "topology.yaml"}
    write_project(tmp_path, settings=settings, stack="my.stack")
    problems = refused(tmp_path, "my.stack")
    assert problems[0] == (
        "Pulumi.my.stack.yaml",
        3,
        "config.eventinfra:settings.name_prefix",
        "expected a prefix of letters, digits, '-' and '_' (it begins every SNS, SQS, Lambda "
        "and DynamoDB name), found the prefix 'my.stack' (the stack name).",
    )


def test_a_schema_symlinked_out_of_the_project_is_refused_and_never_read(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    secret = tmp_path / "secret.json"
    secret.write_text('{"type": "s3cr3t-value"}')
    write_project(project)
    (project / "user.json").unlink()
    os.symlink(secret, project / "user.json")
    problems = refused(project)
    assert [p[2:] for p in problems] == [
        (
            'events."user.signup".schema',
            f"expected a JSON Schema file inside the project folder {project.resolve()}, found "
            "'user.json', which resolves outside it.",
        )
    ]
    assert "s3cr3t" not in str(problems)


def test_a_symlink_out_of_the_code_folder_is_refused(tmp_path: Path) -> None:
    write_project(tmp_path)
    os.symlink("/etc", tmp_path / "functions" / "welcome" / "etc")
    assert [p[2:] for p in refused(tmp_path)] == [
        (
            "consumers.welcome-email.lambda.code",
            "has a symbolic link 'etc' that points outside the folder; expected only files "
            "inside it (the folder is uploaded as it is).",
        )
    ]


def test_an_invalid_schema_is_refused_without_echoing_its_content(tmp_path: Path) -> None:
    write_project(tmp_path)
    (tmp_path / "user.json").write_text('{"type": "password-hunter2"}')
    ((*_, message),) = refused(tmp_path)
    assert "hunter2" not in message
    assert message.endswith("breaks the metaschema's 'anyOf' rule.")


def test_a_binary_schema_is_refused_by_name(tmp_path: Path) -> None:
    write_project(tmp_path)
    (tmp_path / "user.json").write_bytes(b"\x89PNG\x00\x00")
    ((_, _, key, message),) = refused(tmp_path)
    assert key == 'events."user.signup".schema'
    assert message == (
        f"expected a JSON Schema, but {tmp_path.resolve() / 'user.json'} is a binary file (it "
        "contains NUL bytes); expected a JSON Schema file."
    )


def test_a_topology_path_that_is_a_folder_says_so(tmp_path: Path) -> None:
    settings = {"topology": "functions"}
    write_project(tmp_path, settings=settings)
    ((*_, message),) = refused(tmp_path)
    assert message == (
        f"expected the path of a topology file (relative to {tmp_path}), found 'functions', "
        "which is a folder."
    )


def test_a_node_handler_loads(tmp_path: Path) -> None:
    topology = base_topology()
    topology["consumers"]["welcome-email"]["lambda"].update(
        runtime="nodejs22.x", handler="src/index.handler"
    )
    write_project(tmp_path, topology)
    (tmp_path / "functions" / "welcome" / "src").mkdir()
    (tmp_path / "functions" / "welcome" / "src" / "index.mjs").write_text(
        "export const handler = 1"
    )
    assert load(tmp_path).topology.consumers["welcome-email"].lambda_.runtime == "nodejs22.x"


FIFO_TOPOLOGY: Callable[[], dict[str, Any]] = lambda: {  # noqa: E731
    "events": {"order.placed": {"fifo": True}},
    "consumers": {
        "fulfil": {
            "subscribes": ["order.placed"],
            "runtime": "lambda",
            "lambda": {
                "code": "functions/welcome",
                "handler": "app.handler",
                "batch_window_seconds": 5,
            },
        }
    },
}


def test_a_batching_window_on_a_fifo_source_is_refused(tmp_path: Path) -> None:
    write_project(tmp_path, FIFO_TOPOLOGY())
    assert [p[2:] for p in refused(tmp_path)] == [
        (
            "consumers.fulfil.lambda.batch_window_seconds",
            "expected 0 for a FIFO queue, as Lambda supports no batching window on FIFO "
            "sources, found 5.",
        )
    ]
