"""RabbitMQPlatformArgs plan what the stack's topology file plans; mistakes name their key path."""

import asyncio
from collections.abc import Callable
from typing import Any

import pulumi
import pytest
import yaml

from eventinfra import ClusterConsumerRuntime, RabbitMQPlatform, load_platform_config
from eventinfra.check.synth import Synthesis, record
from eventinfra.errors import ConfigError
from eventinfra.rabbitmq.platform_args import RabbitMQPlatformArgs, platform_config_from_args
from tests.support import REPOSITORY

STACK_FILE = REPOSITORY / "stacks" / "Pulumi.k8s.yaml"


def stack_settings() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(STACK_FILE.read_text(encoding="utf-8"))["config"][
        "eventinfra:settings"
    ]
    return data


def example_args() -> dict[str, Any]:
    """The k8s stack's topology and settings as args: the file's keys are the args' names."""
    settings = stack_settings()
    topology = yaml.safe_load((REPOSITORY / settings["topology"]).read_text(encoding="utf-8"))
    return {
        **topology,
        "name_prefix": settings["name_prefix"],
        "queues": settings["queues"],
        "alarms": settings["alarms"],
        "rabbitmq": settings["rabbitmq"],
        "base_directory": str(REPOSITORY),
    }


def problems(args: Any) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        platform_config_from_args(args, stack="k8s")
    return [f"{p.key_path}: {p.message}" for p in raised.value.problems]


def plan(make: Callable[[], object], stack: str) -> Synthesis:
    def build() -> None:
        make()

    return record(build, stack=stack)


def comparable(graph: Synthesis) -> list[tuple[Any, ...]]:
    return [(r.urn, r.parent, r.dependencies, r.inputs) for r in graph.resources]


def test_the_args_plan_exactly_what_the_topology_file_plans() -> None:
    config = load_platform_config(stack_settings(), stack="k8s", project_dir=REPOSITORY)
    from_file = plan(lambda: RabbitMQPlatform.from_config("events", config), "k8s")
    args: Any = example_args()
    from_args = plan(lambda: RabbitMQPlatform("events", args), "k8s")
    assert len(from_file.resources) > 50
    assert comparable(from_args) == comparable(from_file)


def test_the_first_signature_still_builds_the_same_urns() -> None:
    config = load_platform_config(stack_settings(), stack="k8s", project_dir=REPOSITORY)
    first: Any = config  # `RabbitMQPlatform(name, config)`, as programs before the args wrote it
    old = plan(lambda: RabbitMQPlatform("events", first), "k8s")
    new = plan(lambda: RabbitMQPlatform.from_config("events", config), "k8s")
    assert comparable(old) == comparable(new)


def test_typed_args_with_the_runtime_enum_become_the_config() -> None:
    args: RabbitMQPlatformArgs = {
        "events": {"user.signup": {}},
        "consumers": {
            "mailer": {
                "subscribes": ["user.signup"],
                "runtime": ClusterConsumerRuntime.CONTAINER,
                "container": {
                    "image": "ghcr.io/acme/mailer:1.4.2",
                    "resources": {"cpu": "250m", "memory": "256Mi"},
                    "replicas": {"min": 0, "max": 4},
                },
                "max_receive_count": 7,
            }
        },
        "rabbitmq": {"replicas": 1},
    }
    config = platform_config_from_args(args, stack="dev")
    assert config.settings.broker == "rabbitmq"
    assert config.settings.rabbitmq.replicas == 1
    mailer = config.topology.consumers["mailer"]
    assert mailer.runtime == "container"
    assert mailer.container is not None and mailer.container.replicas.min == 0
    assert mailer.subscribes[0].event == "user.signup"
    assert config.max_receive_count("mailer") == 7


def test_a_container_error_names_the_args_key_path_in_schema_names() -> None:
    args = example_args()
    args["consumers"]["mailer"]["container"]["target_queue_length"] = 0
    assert problems(args) == [
        "consumers.mailer.container.targetQueueLength: expected an integer from 1 to 100000 "
        "(messages per replica), found 0."
    ]


def test_an_undeclared_event_is_placed_at_the_subscription() -> None:
    args = example_args()
    args["consumers"]["analytics"]["subscribes"] = ["user.signup", "order.shipped"]
    assert problems(args) == [
        "consumers.analytics.subscribes[1]: expected a declared event ('user.signup', "
        "'order.placed', 'invoice.paid'), found 'order.shipped'."
    ]


def test_a_broker_setting_error_names_the_args_key_path() -> None:
    args = example_args()
    args["rabbitmq"]["replicas"] = 10
    assert problems(args) == [
        "rabbitmq.replicas: expected an integer from 1 to 9 (RabbitMQ cluster sizes), found 10."
    ]


def test_a_setting_of_another_broker_is_refused_not_taken() -> None:
    # The settings model has `queues.visibility_multiplier` (SQS); these args do not.
    args = example_args()
    args["queues"]["visibility_multiplier"] = 3
    assert problems(args) == [
        "queues.visibilityMultiplier: is not a known key; expected one of: maxReceiveCount."
    ]


def test_an_upper_case_prefix_is_refused() -> None:
    args = example_args()
    args["name_prefix"] = "K8s"
    assert problems(args) == [
        "namePrefix: expected a prefix of lowercase letters, digits and '-' (it names "
        "Kubernetes objects and the RabbitMQ vhost), found the prefix 'K8s'."
    ]


def test_an_output_in_the_args_is_refused_in_the_brokers_words() -> None:
    # An Output needs an event loop; this one is closed after, so none leaks into later tests.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        args = example_args()
        args["rabbitmq"]["tls_secret"] = pulumi.Output.from_input("events-rabbitmq-tls")
        assert problems(args) == [
            "rabbitmq.tlsSecret: is an Output, a value known only during deployment; expected "
            "a plain value, because the platform's exchanges, queues and users are planned from "
            "it before anything is created."
        ]
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_whole_numbers_sent_as_floats_are_integers() -> None:
    args = example_args()
    args["consumers"]["mailer"]["container"]["replicas"] = {"min": 1.0, "max": 10.0}
    config = platform_config_from_args(args, stack="k8s")
    container = config.topology.consumers["mailer"].container
    assert container is not None and container.replicas.max == 10
    assert isinstance(container.replicas.max, int)
