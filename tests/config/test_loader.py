"""Every configuration mistake is reported with its file, line, key path, expectation and finding."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventinfra.config.loader import load_platform_config
from eventinfra.errors import ConfigError
from tests.support.config_fixtures import base_settings, base_topology, write_project


def t(mutate: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    topology = base_topology()
    mutate(topology)
    return topology


def st(mutate: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    settings = base_settings()
    mutate(settings)
    return settings


def problems_for(root: Path, topology: Any = None, settings: Any = None) -> list[tuple[Any, ...]]:
    stack_file = write_project(root, topology, settings)
    raw = yaml.safe_load(stack_file.read_text())["config"]["eventinfra:settings"]
    with pytest.raises(ConfigError) as raised:
        load_platform_config(raw, stack="dev", project_dir=root, stack_file=stack_file)
    here = str(root.resolve())
    return [
        (p.file.name if p.file else None, p.line, p.key_path, p.message.replace(here, "<root>"))
        for p in raised.value.problems
    ]


CASES: dict[str, tuple[dict[str, Any], list[tuple[Any, ...]]]] = {
    "undeclared_event": (
        dict(
            topology=t(lambda x: x["consumers"]["analytics"]["subscribes"].append("user.deleted"))
        ),
        [
            (
                "topology.yaml",
                7,
                "consumers.analytics.subscribes[2].event",
                "expected a declared event ('invoice.paid', 'order.placed', 'user.signup'), found 'user.deleted'.",
            )
        ],
    ),
    "producer_undeclared": (
        dict(topology=t(lambda x: x["producers"]["accounts-api"]["publishes"].append("user.gone"))),
        [
            (
                "topology.yaml",
                36,
                "producers.accounts-api.publishes[1]",
                "expected a declared event ('invoice.paid', 'order.placed', 'user.signup'), found 'user.gone'.",
            )
        ],
    ),
    "bad_consumer_name": (
        dict(
            topology=t(
                lambda x: x["consumers"].__setitem__(
                    "Welcome_Email", x["consumers"].pop("analytics")
                )
            )
        ),
        [
            (
                "topology.yaml",
                2,
                "consumers.Welcome_Email",
                "is not a valid name; expected a name of lowercase letters, digits and '-' (a DNS label, at most 63 characters, like 'welcome-email'), found 'Welcome_Email'.",
            )
        ],
    ),
    "bad_event_name": (
        dict(topology=t(lambda x: x["events"].__setitem__("user signup!", {}))),
        [
            (
                "topology.yaml",
                29,
                'events."user signup!"',
                "is not a valid name; expected an event name of letters, digits, '.', '_' and '-' (like 'user.signup'), found 'user signup!'.",
            )
        ],
    ),
    "unknown_key": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["lambda"].__setitem__("timeout", 30)
            )
        ),
        [
            (
                "topology.yaml",
                16,
                "consumers.welcome-email.lambda.timeout",
                "is not a known key; expected one of: code, handler, runtime, timeout_seconds, memory_mb, batch_size, batch_window_seconds, max_concurrency, environment, tracing.",
            )
        ],
    ),
    "wrong_runtime": (
        dict(topology=t(lambda x: x["consumers"]["analytics"].__setitem__("runtime", "lamda"))),
        [
            (
                "topology.yaml",
                3,
                "consumers.analytics.runtime",
                "expected 'lambda', 'external' or 'container', found 'lamda'.",
            )
        ],
    ),
    "timeout_range": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["lambda"].__setitem__(
                    "timeout_seconds", 1200
                )
            )
        ),
        [
            (
                "topology.yaml",
                16,
                "consumers.welcome-email.lambda.timeout_seconds",
                "expected an integer from 1 to 900 (the Lambda maximum is 900), found 1200.",
            )
        ],
    ),
    "retention_range": (
        dict(
            topology=t(
                lambda x: x["consumers"]["analytics"].__setitem__("message_retention_seconds", 30)
            )
        ),
        [
            (
                "topology.yaml",
                3,
                "consumers.analytics.message_retention_seconds",
                "expected an integer from 60 to 1209600 (the SQS retention limits, 60 seconds to 14 days), found 30.",
            )
        ],
    ),
    "retention_not_below_dlq": (
        dict(
            topology=t(
                lambda x: x["consumers"]["analytics"].__setitem__(
                    "message_retention_seconds", 1209600
                )
            )
        ),
        [
            (
                "topology.yaml",
                3,
                "consumers.analytics.message_retention_seconds",
                "expected less than 1209600 (the dead-letter queue's 14 days, which must outlive the queue's retention, or dead-lettered messages expire on arrival), found 1209600.",
            )
        ],
    ),
    "visibility_range": (
        dict(
            topology=t(
                lambda x: x["consumers"]["analytics"].__setitem__(
                    "visibility_timeout_seconds", 50000
                )
            )
        ),
        [
            (
                "topology.yaml",
                7,
                "consumers.analytics.visibility_timeout_seconds",
                "expected an integer from 0 to 43200 (the SQS maximum is 12 hours), found 50000.",
            )
        ],
    ),
    "max_receive_range": (
        dict(
            topology=t(lambda x: x["consumers"]["analytics"].__setitem__("max_receive_count", 1001))
        ),
        [
            (
                "topology.yaml",
                3,
                "consumers.analytics.max_receive_count",
                "expected an integer from 1 to 1000 (the SQS redrive policy limits), found 1001.",
            )
        ],
    ),
    "batch_size_range": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["lambda"].__setitem__("batch_size", 20000)
            )
        ),
        [
            (
                "topology.yaml",
                12,
                "consumers.welcome-email.lambda.batch_size",
                "expected an integer from 1 to 10000 (the SQS event source limits), found 20000.",
            )
        ],
    ),
    "batch_window_needed": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["lambda"].__setitem__("batch_size", 100)
            )
        ),
        [
            (
                "topology.yaml",
                11,
                "consumers.welcome-email.lambda.batch_window_seconds",
                "expected at least 1 when batch_size is above 10 (found batch_size 100), found 0.",
            )
        ],
    ),
    "batch_window_range": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["lambda"].__setitem__(
                    "batch_window_seconds", 301
                )
            )
        ),
        [
            (
                "topology.yaml",
                13,
                "consumers.welcome-email.lambda.batch_window_seconds",
                "expected an integer from 0 to 300 (the SQS event source limits), found 301.",
            )
        ],
    ),
    "concurrency_range": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["lambda"].__setitem__(
                    "max_concurrency", 1
                )
            )
        ),
        [
            (
                "topology.yaml",
                15,
                "consumers.welcome-email.lambda.max_concurrency",
                "expected an integer from 2 to 1000 (the SQS event source's maximum concurrency limits), found 1.",
            )
        ],
    ),
    "filter_keys": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["subscribes"][0].__setitem__(
                    "filter", {k: ["a"] for k in "abcdef"}
                )
            )
        ),
        [
            (
                "topology.yaml",
                20,
                "consumers.welcome-email.subscribes[0].filter",
                "expected at most 5 keys (the SNS filter policy limit), found 6: a, b, c, d, e, f.",
            )
        ],
    ),
    "filter_combinations": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["subscribes"][0].__setitem__(
                    "filter", {"a": list("abcdefg"), "b": list("abcdefg"), "c": list("abcd")}
                )
            )
        ),
        [
            (
                "topology.yaml",
                20,
                "consumers.welcome-email.subscribes[0].filter",
                "expected at most 150 value combinations (the SNS filter policy limit), found 196.",
            )
        ],
    ),
    "fifo_mix": (
        dict(topology=t(lambda x: x["events"]["order.placed"].__setitem__("fifo", True))),
        [
            (
                "topology.yaml",
                4,
                "consumers.analytics.subscribes",
                "mixes FIFO events (order.placed) with standard events (user.signup); expected one kind, as a queue is either FIFO or standard.",
            )
        ],
    ),
    "fifo_consumer_of_standard": (
        dict(topology=t(lambda x: x["consumers"]["analytics"].__setitem__("fifo", True))),
        [
            (
                "topology.yaml",
                3,
                "consumers.analytics.fifo",
                "expected false, as its events are standard, found true.",
            )
        ],
    ),
    "visibility_below_lambda": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"].__setitem__(
                    "visibility_timeout_seconds", 60
                )
            )
        ),
        [
            (
                "topology.yaml",
                24,
                "consumers.welcome-email.visibility_timeout_seconds",
                "expected at least 180 (6 x the Lambda timeout 30 + batching window 0, or messages are redelivered while still being processed), found 60.",
            )
        ],
    ),
    "multiplier_exceeds": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["lambda"].__setitem__(
                    "timeout_seconds", 900
                )
            ),
            settings=st(lambda s: s.__setitem__("queues", {"visibility_multiplier": 50})),
        ),
        [
            (
                "topology.yaml",
                16,
                "consumers.welcome-email.lambda.timeout_seconds",
                "needs a visibility timeout of 50 x 900 + 0 = 45000 seconds, above the SQS maximum of 43200; expected a timeout of at most 864, found 900.",
            )
        ],
    ),
    "missing_code": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["lambda"].__setitem__(
                    "code", "functions/nope"
                )
            )
        ),
        [
            (
                "topology.yaml",
                13,
                "consumers.welcome-email.lambda.code",
                "expected a folder with the function's code (relative to <root>), found 'functions/nope', which does not exist.",
            )
        ],
    ),
    "missing_handler_module": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["lambda"].__setitem__(
                    "handler", "main.handler"
                )
            )
        ),
        [
            (
                "topology.yaml",
                14,
                "consumers.welcome-email.lambda.handler",
                "expected a module main.py in the code folder for handler 'main.handler'; it does not exist.",
            )
        ],
    ),
    "missing_schema": (
        dict(topology=t(lambda x: x["events"]["user.signup"].__setitem__("schema", "nope.json"))),
        [
            (
                "topology.yaml",
                31,
                'events."user.signup".schema',
                "expected a JSON Schema file (relative to <root>), found 'nope.json', which does not exist.",
            )
        ],
    ),
    "long_queue_name": (
        dict(
            topology=t(
                lambda x: x["consumers"].__setitem__(
                    "a" * 63, {"subscribes": ["order.placed"], "runtime": "external"}
                )
            ),
            settings=st(lambda s: s.__setitem__("name_prefix", "p" * 20)),
        ),
        [
            (
                "topology.yaml",
                2,
                "consumers.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "gives the queue name 'pppppppppppppppppppp-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' (84 characters with the prefix 'pppppppppppppppppppp'); expected at most 80.",
            ),
            (
                "topology.yaml",
                2,
                "consumers.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "gives the queue name 'pppppppppppppppppppp-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-dlq' (88 characters with the prefix 'pppppppppppppppppppp'); expected at most 80.",
            ),
        ],
    ),
    "lambda_without_block": (
        dict(topology=t(lambda x: x["consumers"]["welcome-email"].pop("lambda"))),
        [
            (
                "topology.yaml",
                7,
                "consumers.welcome-email",
                "has runtime 'lambda' but no 'lambda' block; expected one describing the lambda (see the README's config reference).",
            )
        ],
    ),
    "lambda_block_on_external": (
        dict(
            topology=t(
                lambda x: x["consumers"]["analytics"].__setitem__(
                    "lambda", {"code": "functions/welcome", "handler": "app.handler"}
                )
            )
        ),
        [
            (
                "topology.yaml",
                3,
                "consumers.analytics.lambda",
                "is set, but runtime is 'external'; expected either runtime 'lambda' or no 'lambda' block, not both.",
            )
        ],
    ),
    "container_on_sns": (
        dict(
            topology=t(
                lambda x: x["consumers"]["analytics"].update(
                    runtime="container",
                    container={
                        "image": "ghcr.io/acme/a:1.0",
                        "resources": {"cpu": "250m", "memory": "256Mi"},
                    },
                )
            )
        ),
        [
            (
                "topology.yaml",
                8,
                "consumers.analytics.runtime",
                "expected one of lambda, external on the 'sns-sqs' broker, found 'container'.",
            )
        ],
    ),
    "duplicate_subscription": (
        dict(topology=t(lambda x: x["consumers"]["analytics"]["subscribes"].append("user.signup"))),
        [
            (
                "topology.yaml",
                7,
                "consumers.analytics.subscribes[2].event",
                "subscribes to 'user.signup' twice; expected once.",
            )
        ],
    ),
    "name_clash": (
        dict(
            topology=t(
                lambda x: x["producers"].__setitem__("analytics", {"publishes": ["order.placed"]})
            )
        ),
        [
            (
                "topology.yaml",
                36,
                "producers.analytics",
                "is also the name of a consumer; expected distinct names, as each gets its own credentials (found 'analytics' in both).",
            )
        ],
    ),
    "slug_clash": (
        dict(topology=t(lambda x: x["events"].__setitem__("user-signup", {}))),
        [
            (
                "topology.yaml",
                30,
                'events."user.signup"',
                "gives the SNS topic name 'dev-user-signup' (the topic of event 'user.signup'), which is already the topic of event 'user-signup' (from events.user-signup); expected names that give distinct physical names.",
            )
        ],
    ),
    "string_int": (
        dict(
            topology=t(
                lambda x: x["consumers"]["welcome-email"]["lambda"].__setitem__("memory_mb", "256")
            )
        ),
        [
            (
                "topology.yaml",
                16,
                "consumers.welcome-email.lambda.memory_mb",
                "expected an integer, found '256'.",
            )
        ],
    ),
    "yaml_syntax": (
        dict(topology="events:\n  user.signup: {description: x\nconsumers: {}\n"),
        [("topology.yaml", 3, "", "is not valid YAML: expected ',' or '}', but got ':'.")],
    ),
    "yaml_control_character": (
        dict(topology="events: {}\nconsumers: \x07\n"),
        [
            (
                "topology.yaml",
                None,
                "",
                "is not valid YAML: unacceptable character #x0007: special characters are not allowed.",
            )
        ],
    ),
    "duplicate_yaml_key": (
        dict(topology="events:\n  user.signup: {}\n  user.signup: {}\n"),
        [
            (
                "topology.yaml",
                3,
                'events."user.signup"',
                "is defined twice (first on line 2); expected each name once.",
            )
        ],
    ),
    "no_events": (
        dict(topology="events: {}\n"),
        [("topology.yaml", 1, "events", "expected at least one entry, found {}.")],
    ),
    "settings_broker": (
        dict(settings=st(lambda s: s.__setitem__("broker", "pulsar"))),
        [
            (
                "Pulumi.dev.yaml",
                4,
                "config.eventinfra:settings.broker",
                "expected 'sns-sqs', 'rabbitmq' or 'kafka', found 'pulsar'.",
            )
        ],
    ),
    "settings_email": (
        dict(settings=st(lambda s: s["alarms"].__setitem__("email", "not-an-email"))),
        [
            (
                "Pulumi.dev.yaml",
                8,
                "config.eventinfra:settings.alarms.email",
                "expected an e-mail address for alarm notifications, like `oncall@example.com`, found 'not-an-email'.",
            )
        ],
    ),
    "settings_log_retention": (
        dict(settings=st(lambda s: s.__setitem__("log_retention_days", 10))),
        [
            (
                "Pulumi.dev.yaml",
                11,
                "config.eventinfra:settings.log_retention_days",
                "expected one of the retention periods CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653), found 10.",
            )
        ],
    ),
    "settings_missing_topology": (
        dict(settings=st(lambda s: s.pop("topology"))),
        [
            (
                "Pulumi.dev.yaml",
                3,
                "config.eventinfra:settings.topology",
                "is missing; this key is required.",
            )
        ],
    ),
    "settings_topology_absent": (
        dict(settings=st(lambda s: s.__setitem__("topology", "missing.yaml"))),
        [
            (
                "Pulumi.dev.yaml",
                5,
                "config.eventinfra:settings.topology",
                "expected the path of a topology file (relative to <root>), found 'missing.yaml', which does not exist.",
            )
        ],
    ),
    "settings_unknown": (
        dict(settings=st(lambda s: s.__setitem__("protekt", True))),
        [
            (
                "Pulumi.dev.yaml",
                11,
                "config.eventinfra:settings.protekt",
                "is not a known key; expected one of: broker, topology, name_prefix, queues, alarms, log_retention_days, protect, tags, tracing, rabbitmq, kafka.",
            )
        ],
    ),
    "missing_subscribes": (
        dict(topology=t(lambda x: x["consumers"]["analytics"].pop("subscribes"))),
        [
            (
                "topology.yaml",
                2,
                "consumers.analytics.subscribes",
                "is missing; this key is required.",
            )
        ],
    ),
    "many": (
        dict(
            topology=t(
                lambda x: (
                    x["consumers"]["analytics"].__setitem__("max_receive_count", 0),
                    x["consumers"]["welcome-email"]["lambda"].__setitem__("memory_mb", 64),
                )
            )
        ),
        [
            (
                "topology.yaml",
                3,
                "consumers.analytics.max_receive_count",
                "expected an integer from 1 to 1000 (the SQS redrive policy limits), found 0.",
            ),
            (
                "topology.yaml",
                17,
                "consumers.welcome-email.lambda.memory_mb",
                "expected an integer from 128 to 10240 (the Lambda memory limits), found 64.",
            ),
        ],
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_each_mistake_is_reported_exactly(tmp_path: Path, case: str) -> None:
    inputs, expected = CASES[case]
    assert problems_for(tmp_path, **inputs) == expected


def test_valid_config_loads(tmp_path: Path) -> None:
    stack_file = write_project(tmp_path)
    raw = yaml.safe_load(stack_file.read_text())["config"]["eventinfra:settings"]
    config = load_platform_config(raw, stack="dev", project_dir=tmp_path, stack_file=stack_file)
    assert config.prefix == "dev"
    assert config.unconsumed_events() == ["invoice.paid"]
    # 6 x the 30 s Lambda timeout: every retry of one receive fits in the visibility window.
    assert config.visibility_timeout_seconds("welcome-email") == 180
    assert config.visibility_timeout_seconds("analytics") == 30
    assert config.topology.consumers["analytics"].subscribes[1].event == "order.placed"


def test_error_message_lists_every_problem_in_one_sentence_each(tmp_path: Path) -> None:
    stack_file = write_project(
        tmp_path,
        t(lambda x: x["consumers"]["analytics"].update(max_receive_count=0, runtime="lamda")),
    )
    raw = yaml.safe_load(stack_file.read_text())["config"]["eventinfra:settings"]
    with pytest.raises(ConfigError) as raised:
        load_platform_config(raw, stack="dev", project_dir=tmp_path, stack_file=stack_file)
    lines = str(raised.value).splitlines()
    assert lines[0] == "2 problems in the eventinfra configuration:"
    assert lines[1].endswith(
        "topology.yaml:3: consumers.analytics.max_receive_count: expected an integer from 1 "
        "to 1000 (the SQS redrive policy limits), found 0."
    )
    assert lines[2].endswith(
        "topology.yaml:4: consumers.analytics.runtime: expected 'lambda', 'external' or 'container', found 'lamda'."
    )
