"""SnsSqsPlatformArgs become a validated PlatformConfig; every mistake names its key path."""

import asyncio
from pathlib import Path
from typing import Any

import pulumi
import pytest

from eventinfra.aws.consumer import ConsumerRuntime
from eventinfra.aws.platform_args import (
    SnsSqsPlatformArgs,
    platform_config_from_args,
)
from eventinfra.errors import ConfigError


def platform_args(directory: Path, **overrides: Any) -> SnsSqsPlatformArgs:
    code = directory / "welcome"
    code.mkdir(exist_ok=True)
    (code / "app.py").write_text("def handler(event, context):\n    return {}\n")
    args: SnsSqsPlatformArgs = {
        "events": {"user.signup": {"description": "A user signed up."}, "invoice.paid": {}},
        "producers": {
            "accounts-api": {
                "publishes": ["user.signup"],
                "role_arn": "arn:aws:iam::123456789012:role/accounts-api",
            }
        },
        "consumers": {
            "welcome-email": {
                "subscribes": [{"event": "user.signup", "filter": {"plan": ["pro"]}}],
                "runtime": ConsumerRuntime.LAMBDA,
                "lambda_function": {"code": "welcome", "handler": "app.handler"},
                "idempotency": {"key": "userId"},
                "max_receive_count": 5,
            },
            "analytics": {
                "subscribes": [{"event": "user.signup"}],
                "runtime": ConsumerRuntime.EXTERNAL,
            },
        },
        "name_prefix": "dev",
        "alarms": {"email": "oncall@example.com"},
        "tags": {"team": "platform"},
        "base_directory": str(directory),
    }
    args.update(overrides)  # type: ignore[typeddict-item]
    return args


def problems(args: Any) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        platform_config_from_args(args, stack="dev")
    return [f"{p.key_path}: {p.message}" for p in raised.value.problems]


def test_args_become_the_same_config_a_topology_file_gives(tmp_path: Path) -> None:
    config = platform_config_from_args(platform_args(tmp_path), stack="dev")
    assert config.stack == "dev"
    assert config.prefix == "dev"
    assert config.settings.broker == "sns-sqs"
    assert config.settings.tags == {"team": "platform"}
    assert config.settings.alarms.email == "oncall@example.com"
    welcome = config.topology.consumers["welcome-email"]
    assert welcome.runtime == "lambda"
    assert welcome.lambda_ is not None and welcome.lambda_.handler == "app.handler"
    assert welcome.subscribes[0].filter == {"plan": ["pro"]}
    assert welcome.idempotency.key == "userId"
    assert config.topology.consumers["analytics"].runtime == "external"
    assert config.topology_dir == tmp_path.resolve()
    assert config.unconsumed_events() == ["invoice.paid"]
    # The Lambda consumer's visibility timeout still follows the function's timeout.
    assert config.visibility_timeout_seconds("welcome-email") >= 6 * welcome.lambda_.timeout_seconds


def test_enum_values_given_as_strings_are_accepted(tmp_path: Path) -> None:
    args: Any = platform_args(tmp_path)
    args["consumers"]["analytics"]["runtime"] = "external"
    config = platform_config_from_args(args, stack="dev")
    assert config.topology.consumers["analytics"].runtime == "external"


def test_a_model_error_names_the_args_key_path_in_schema_names(tmp_path: Path) -> None:
    args: Any = platform_args(tmp_path)
    args["consumers"]["welcome-email"]["lambda_function"]["timeout_seconds"] = 901
    assert problems(args) == [
        "consumers.welcome-email.lambdaFunction.timeoutSeconds: expected an integer from 1 "
        "to 900 (the Lambda maximum is 900), found 901."
    ]


def test_a_settings_error_names_the_args_key_path(tmp_path: Path) -> None:
    args = platform_args(tmp_path, alarms={"period_seconds": 45})
    assert problems(args) == [
        "alarms.periodSeconds: expected 10, 20, 30 or a multiple of 60 up to 86400 (the "
        "periods CloudWatch alarms accept), found 45."
    ]


def test_a_cross_check_names_the_args_key_path(tmp_path: Path) -> None:
    args: Any = platform_args(tmp_path)
    args["consumers"]["analytics"]["subscribes"] = [{"event": "order.placed"}]
    assert problems(args) == [
        "consumers.analytics.subscribes[0].event: expected a declared event ('user.signup', "
        "'invoice.paid'), found 'order.placed'."
    ]


def test_lambda_code_is_looked_up_in_the_base_directory(tmp_path: Path) -> None:
    args = platform_args(tmp_path, base_directory=str(tmp_path / "elsewhere"))
    assert problems(args) == [
        f"consumers.welcome-email.lambdaFunction.code: expected a folder with the function's "
        f"code (relative to {tmp_path / 'elsewhere'}), found 'welcome', which does not exist."
    ]


def test_a_lambda_consumer_without_its_function_is_refused(tmp_path: Path) -> None:
    args: Any = platform_args(tmp_path)
    del args["consumers"]["welcome-email"]["lambda_function"]
    assert problems(args) == [
        "consumers.welcome-email: has runtime 'lambda' but no 'lambda' block; expected one "
        "describing the lambda (see the README's config reference)."
    ]


def test_an_invalid_consumer_name_is_refused(tmp_path: Path) -> None:
    args: Any = platform_args(tmp_path)
    args["consumers"]["Analytics"] = args["consumers"].pop("analytics")
    assert problems(args) == [
        "consumers.Analytics: is not a valid name; expected a name of lowercase letters, "
        "digits and '-' (a DNS label, at most 63 characters, like 'welcome-email'), found "
        "'Analytics'."
    ]


def test_an_unknown_top_level_key_is_refused(tmp_path: Path) -> None:
    args = platform_args(tmp_path, broker="rabbitmq")
    assert problems(args) == [
        "broker: is not a known key; expected one of: alarms, baseDirectory, consumers, "
        "events, logRetentionDays, namePrefix, producers, protect, queues, tags, tracing."
    ]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    args: Any = platform_args(tmp_path, log_retention_days=8, alarms={"period_seconds": 5})
    args["events"] = {}
    assert [p.split(":")[0] for p in problems(args)] == [
        "alarms.periodSeconds",
        "events",
        "logRetentionDays",
    ]


def test_an_output_in_the_args_is_refused(tmp_path: Path) -> None:
    # An Output needs an event loop; this one is closed after, so none leaks into later tests.
    # No Output value is asserted on: the refusal happens before anything awaits it.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        args: Any = platform_args(tmp_path)
        args["producers"]["accounts-api"]["role_arn"] = pulumi.Output.from_input(
            "arn:aws:iam::123456789012:role/accounts-api"
        )
        assert problems(args) == [
            "producers.accounts-api.roleArn: is an Output, a value known only during "
            "deployment; expected a plain value, because the platform's topics, queues and "
            "functions are planned from it before anything is created."
        ]
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def test_whole_numbers_sent_as_floats_are_integers(tmp_path: Path) -> None:
    args: Any = platform_args(tmp_path)
    args["consumers"]["welcome-email"]["lambda_function"]["timeout_seconds"] = 30.0
    config = platform_config_from_args(args, stack="dev")
    function = config.topology.consumers["welcome-email"].lambda_
    assert function is not None and function.timeout_seconds == 30
    assert isinstance(function.timeout_seconds, int)


def test_a_fraction_for_an_integer_is_refused(tmp_path: Path) -> None:
    args: Any = platform_args(tmp_path)
    args["consumers"]["welcome-email"]["lambda_function"]["timeout_seconds"] = 30.5
    assert problems(args) == [
        "consumers.welcome-email.lambdaFunction.timeoutSeconds: expected an integer, found 30.5."
    ]


def test_a_nested_key_the_args_do_not_declare_is_refused(tmp_path: Path) -> None:
    # The topology model has a consumer's `container` (Kubernetes); the SNS/SQS args do not.
    args: Any = platform_args(tmp_path)
    args["consumers"]["analytics"]["container"] = {"image": "ghcr.io/acme/analytics:1.0.0"}
    assert problems(args) == [
        "consumers.analytics.container: is not a known key; expected one of: description, "
        "fifo, idempotency, lambdaFunction, maxReceiveCount, messageRetentionSeconds, runtime, "
        "subscribes, visibilityTimeoutSeconds."
    ]
