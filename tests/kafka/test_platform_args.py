"""KafkaPlatformArgs plan what the stack's topology file plans; mistakes name their key path."""

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from eventinfra import (
    ClusterConsumerRuntime,
    KafkaCleanupPolicy,
    KafkaPlatform,
    load_platform_config,
)
from eventinfra.check.synth import Synthesis, record
from eventinfra.errors import ConfigError
from eventinfra.kafka.platform_args import KafkaPlatformArgs, platform_config_from_args
from tests.support import REPOSITORY

STACK_FILE = REPOSITORY / "stacks" / "Pulumi.kafka.yaml"


def stack_settings() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(STACK_FILE.read_text(encoding="utf-8"))["config"][
        "eventinfra:settings"
    ]
    return data


def example_args() -> dict[str, Any]:
    """The kafka stack's topology and settings as args: the file's keys are the args' names."""
    settings = stack_settings()
    topology = yaml.safe_load((REPOSITORY / settings["topology"]).read_text(encoding="utf-8"))
    return {
        **topology,
        "name_prefix": settings["name_prefix"],
        "kafka": settings["kafka"],
        "base_directory": str(REPOSITORY),
    }


def problems(args: Any) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        platform_config_from_args(args, stack="kafka")
    return [f"{p.key_path}: {p.message}" for p in raised.value.problems]


def plan(make: Callable[[], object], stack: str) -> Synthesis:
    def build() -> None:
        make()

    return record(build, stack=stack)


def comparable(graph: Synthesis) -> list[tuple[Any, ...]]:
    return [(r.urn, r.parent, r.dependencies, r.inputs) for r in graph.resources]


def test_the_args_plan_exactly_what_the_topology_file_plans() -> None:
    config = load_platform_config(stack_settings(), stack="kafka", project_dir=REPOSITORY)
    from_file = plan(lambda: KafkaPlatform.from_config("events", config), "kafka")
    args: Any = example_args()
    from_args = plan(lambda: KafkaPlatform("events", args), "kafka")
    assert len(from_file.resources) > 30
    assert comparable(from_args) == comparable(from_file)


def test_the_first_signature_still_builds_the_same_urns() -> None:
    config = load_platform_config(stack_settings(), stack="kafka", project_dir=REPOSITORY)
    first: Any = config  # `KafkaPlatform(name, config)`, as programs before the args wrote it
    old = plan(lambda: KafkaPlatform("events", first), "kafka")
    new = plan(lambda: KafkaPlatform.from_config("events", config), "kafka")
    assert comparable(old) == comparable(new)


def test_typed_args_with_the_enums_become_the_config() -> None:
    args: KafkaPlatformArgs = {
        "events": {"order.placed": {}},
        "consumers": {
            "fulfilment": {
                "subscribes": ["order.placed"],
                "runtime": ClusterConsumerRuntime.EXTERNAL,
                "idempotency": {"key": "orderId"},
            }
        },
        "kafka": {
            "tls": False,
            "topics": {"order.placed": {"cleanup_policy": KafkaCleanupPolicy.COMPACT_DELETE}},
        },
    }
    config = platform_config_from_args(args, stack="dev")
    assert config.settings.broker == "kafka"
    assert config.settings.kafka.tls is False
    assert config.settings.kafka.topics["order.placed"].cleanup_policy == "compact,delete"
    fulfilment = config.topology.consumers["fulfilment"]
    assert fulfilment.runtime == "external"
    assert fulfilment.idempotency.key == "orderId"


def test_topic_settings_for_an_undeclared_event_are_refused() -> None:
    args = example_args()
    args["kafka"]["topics"]["order.shipped"] = {"partitions": 3}
    assert problems(args) == [
        'kafka.topics."order.shipped": names no declared event; expected one of '
        "'user.signup', 'order.placed', 'invoice.paid', found 'order.shipped'."
    ]


def test_more_replicas_than_partitions_are_placed_at_the_container() -> None:
    args = example_args()
    args["consumers"]["mailer"]["container"]["replicas"]["max"] = 7
    assert [p.split(":")[0] for p in problems(args)] == ["consumers.mailer.container.replicas.max"]


def test_a_cluster_setting_error_names_the_args_key_path() -> None:
    args = example_args()
    args["kafka"]["storage"] = "50G"
    assert [p.split(":")[0] for p in problems(args)] == ["kafka.storage"]


def test_max_receive_count_from_the_args_sets_the_consumers_attempts() -> None:
    args = example_args()
    args["queues"] = {"max_receive_count": 7}
    args["consumers"]["mailer"]["max_receive_count"] = 9
    config = platform_config_from_args(args, stack="kafka")
    assert config.max_receive_count("mailer") == 9
    assert config.max_receive_count("analytics") == 7


def test_a_queue_setting_kafka_does_not_read_is_refused() -> None:
    args = example_args()
    args["queues"] = {"visibility_multiplier": 6}
    assert problems(args) == [
        "queues.visibilityMultiplier: is not a known key; expected one of: maxReceiveCount."
    ]


def test_a_consumer_named_like_the_ops_user_is_refused_at_its_key() -> None:
    args = example_args()
    args["consumers"]["eventinfra-ops"] = args["consumers"].pop("analytics")
    assert problems(args) == [
        "consumers.eventinfra-ops: is named 'eventinfra-ops', which eventinfra uses for the ops "
        "commands' KafkaUser and consumer group (`eventinfra dlq`); expected another name."
    ]
