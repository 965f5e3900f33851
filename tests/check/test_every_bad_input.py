"""Every input `eventinfra check`, `docs`, `dlq` and `replay` read, each broken once: exit 2, a
message naming the user's file (with its line and key path where the file has them), and never a
traceback or a path into eventinfra's own code."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from eventinfra.check.cli import EXIT_INVALID, EXIT_OK, main
from eventinfra.config.stack import TOPOLOGY_OVERRIDE_ENV
from tests.support import REPOSITORY

EVENTINFRA_SOURCE = REPOSITORY / "components" / "eventinfra"
POLICY_PACK = REPOSITORY / "policies"

# The smallest project the repository's own program plans: one event with a schema, one
# producer, one external consumer. Failures before planning take milliseconds; a plan of it
# takes about a second.
SMALL_TOPOLOGY = """\
events:
  order.placed:
    schema: schemas/order.placed.json
producers:
  checkout-api:
    publishes: [order.placed]
consumers:
  ledger:
    subscribes: [order.placed]
    runtime: external
"""

LAMBDA_CONSUMER = """\
  mailer:
    subscribes: [order.placed]
    runtime: lambda
    lambda:
      code: functions/mailer
      handler: app.handler
"""

BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"


@pytest.fixture(autouse=True)
def plain_console(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", TOPOLOGY_OVERRIDE_ENV):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("EVENTINFRA_POLICY_PACK", raising=False)
    monkeypatch.setenv("COLUMNS", "200")


def small_project(destination: Path) -> Path:
    destination.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPOSITORY / name, destination / name)
    (destination / "stacks").mkdir()
    shutil.copy(REPOSITORY / "stacks" / "Pulumi.dev.yaml", destination / "stacks")
    shutil.copytree(REPOSITORY / "schemas", destination / "schemas")
    (destination / "topology.yaml").write_text(SMALL_TOPOLOGY, encoding="utf-8")
    return destination


def line_of(path: Path, text: str) -> int:
    """The 1-based line of the only line of `path` containing `text`."""
    lines = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    assert len(lines) == 1, f"{text!r} is on lines {lines} of {path}"
    return lines[0]


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@dataclass(frozen=True)
class Broken:
    """The command line that reads the broken input, and what its message must contain."""

    argv: list[str]
    expected: list[str]


Arrange = Callable[[Path, Path], Broken]
"""(the project, a scratch folder outside it) -> the run."""


def check_args(project: Path, *extra: str) -> list[str]:
    return ["check", "--program", str(project), "--stack", "dev", "--no-policies", *extra]


# --- Pulumi.yaml ---------------------------------------------------------------------------------


def project_file_missing(project: Path, _: Path) -> Broken:
    (project / "Pulumi.yaml").unlink()
    return Broken(check_args(project), [f"No Pulumi project in {project}", "Pulumi.yaml"])


def project_file_is_a_folder(project: Path, _: Path) -> Broken:
    (project / "Pulumi.yaml").unlink()
    (project / "Pulumi.yaml").mkdir()
    return Broken(check_args(project), [f"{project / 'Pulumi.yaml'}", "is a folder"])


def project_file_binary(project: Path, _: Path) -> Broken:
    (project / "Pulumi.yaml").write_bytes(BINARY)
    return Broken(check_args(project), [f"{project / 'Pulumi.yaml'}: the project file is a binary"])


def project_file_invalid_yaml(project: Path, _: Path) -> Broken:
    (project / "Pulumi.yaml").write_text("name: shop\nruntime: [python\n")
    return Broken(
        check_args(project), [f"{project / 'Pulumi.yaml'}:3: the project file is not valid YAML"]
    )


def project_file_without_name(project: Path, _: Path) -> Broken:
    (project / "Pulumi.yaml").write_text("runtime: python\nstackConfigDir: stacks\n")
    return Broken(check_args(project), [f"{project / 'Pulumi.yaml'}: ", "`name`"])


def project_file_wrong_runtime(project: Path, _: Path) -> Broken:
    replace_in(project / "Pulumi.yaml", "name: python", "name: nodejs")
    return Broken(
        check_args(project),
        [f"{project / 'Pulumi.yaml'}:3: runtime", "'python'", "'nodejs'"],
    )


def project_file_stack_config_dir_not_text(project: Path, _: Path) -> Broken:
    replace_in(project / "Pulumi.yaml", "stackConfigDir: stacks", "stackConfigDir: [stacks]")
    line = line_of(project / "Pulumi.yaml", "stackConfigDir")
    return Broken(
        check_args(project), [f"{project / 'Pulumi.yaml'}:{line}: stackConfigDir", "['stacks']"]
    )


def project_file_main_elsewhere(project: Path, _: Path) -> Broken:
    with (project / "Pulumi.yaml").open("a") as file:
        file.write("main: src/\n")
    line = line_of(project / "Pulumi.yaml", "main:")
    return Broken(
        check_args(project),
        [f"{project / 'Pulumi.yaml'}:{line}: main", f"{project / 'src'} does not exist"],
    )


# --- the stack file ------------------------------------------------------------------------------


def stack_unknown(project: Path, _: Path) -> Broken:
    return Broken(
        ["check", "--program", str(project), "--stack", "staging", "--no-policies"],
        [f"{project / 'stacks' / 'Pulumi.staging.yaml'}", "the stacks that exist are 'dev'"],
    )


def stack_file_is_a_folder(project: Path, _: Path) -> Broken:
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    stack_file.unlink()
    stack_file.mkdir()
    return Broken(check_args(project), [f"{stack_file}", "is a folder"])


def stack_file_binary(project: Path, _: Path) -> Broken:
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_bytes(BINARY)
    return Broken(check_args(project), [f"{stack_file}: the stack settings file is a binary"])


def stack_file_invalid_yaml(project: Path, _: Path) -> Broken:
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    replace_in(stack_file, "      team: platform", "      team: [platform")
    return Broken(check_args(project), [f"{stack_file}:", "is not valid YAML"])


def stack_file_a_list(project: Path, _: Path) -> Broken:
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_text("- config\n")
    return Broken(check_args(project), [f"{stack_file}: a stack settings file must be a mapping"])


def stack_settings_missing(project: Path, _: Path) -> Broken:
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    stack_file.write_text("config:\n  aws:region: eu-west-1\n")
    return Broken(check_args(project), [f"{stack_file}: config.eventinfra:settings: is missing"])


def stack_settings_unknown_key(project: Path, _: Path) -> Broken:
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    replace_in(stack_file, "    protect: false", "    protekt: false")
    line = line_of(stack_file, "protekt")
    return Broken(check_args(project), [f"{stack_file}:{line}: config.eventinfra:settings.protekt"])


def stack_settings_bad_value(project: Path, _: Path) -> Broken:
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    replace_in(stack_file, "max_receive_count: 5", "max_receive_count: many")
    line = line_of(stack_file, "max_receive_count")
    return Broken(
        check_args(project),
        [f"{stack_file}:{line}: config.eventinfra:settings.queues.max_receive_count", "'many'"],
    )


def stack_settings_secret(project: Path, _: Path) -> Broken:
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    text = stack_file.read_text().split("  eventinfra:settings:")[0]
    stack_file.write_text(text + "  eventinfra:settings:\n    secure: v1:AAAA\n")
    line = line_of(stack_file, "eventinfra:settings")
    return Broken(
        check_args(project), [f"{stack_file}:{line}: config.eventinfra:settings", "secret"]
    )


def stack_region_secret(project: Path, _: Path) -> Broken:
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    replace_in(stack_file, "aws:region: eu-west-1", "aws:region: {secure: v1:AAAA}")
    line = line_of(stack_file, "aws:region")
    return Broken(check_args(project), [f"{stack_file}:{line}: config.aws:region", "secret"])


def stack_topology_is_a_folder(project: Path, _: Path) -> Broken:
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    replace_in(stack_file, "topology: topology.yaml", "topology: schemas")
    line = line_of(stack_file, "topology:")
    return Broken(
        check_args(project),
        [f"{stack_file}:{line}: config.eventinfra:settings.topology", "which is a folder"],
    )


# --- the topology file ---------------------------------------------------------------------------


def topology_missing(project: Path, _: Path) -> Broken:
    (project / "topology.yaml").unlink()
    stack_file = project / "stacks" / "Pulumi.dev.yaml"
    line = line_of(stack_file, "topology:")
    return Broken(
        check_args(project),
        [f"{stack_file}:{line}: config.eventinfra:settings.topology", "which does not exist"],
    )


def topology_binary(project: Path, _: Path) -> Broken:
    (project / "topology.yaml").write_bytes(BINARY)
    return Broken(check_args(project), [f"{project / 'topology.yaml'}: is a binary file"])


def topology_empty(project: Path, _: Path) -> Broken:
    (project / "topology.yaml").write_text("")
    return Broken(check_args(project), [f"{project / 'topology.yaml'}", "events"])


def topology_a_list(project: Path, _: Path) -> Broken:
    (project / "topology.yaml").write_text("- events\n- consumers\n")
    return Broken(check_args(project), [f"{project / 'topology.yaml'}:1:", "mapping"])


def topology_invalid_yaml(project: Path, _: Path) -> Broken:
    (project / "topology.yaml").write_text(SMALL_TOPOLOGY + "  bad: [\n")
    return Broken(check_args(project), [f"{project / 'topology.yaml'}:", "is not valid YAML"])


def topology_alias_bomb(project: Path, _: Path) -> Broken:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [
        f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)
    ]
    (project / "topology.yaml").write_text("\n".join(levels) + "\n")
    return Broken(check_args(project), [f"{project / 'topology.yaml'}:", "expands to more than"])


def topology_deep_nesting(project: Path, _: Path) -> Broken:
    (project / "topology.yaml").write_text("events: " + "[" * 5000 + "]" * 5000 + "\n")
    return Broken(check_args(project), [f"{project / 'topology.yaml'}", "nests values too deeply"])


def topology_unknown_key(project: Path, _: Path) -> Broken:
    topology = project / "topology.yaml"
    replace_in(topology, "    runtime: external", "    runtime: external\n    retries: 3")
    return Broken(
        check_args(project),
        [f"{topology}:{line_of(topology, 'retries')}: consumers.ledger.retries"],
    )


def topology_bad_value(project: Path, _: Path) -> Broken:
    topology = project / "topology.yaml"
    replace_in(topology, "runtime: external", "runtime: cron")
    return Broken(
        check_args(project),
        [f"{topology}:{line_of(topology, 'cron')}: consumers.ledger.runtime", "'cron'"],
    )


def topology_option_missing(project: Path, scratch: Path) -> Broken:
    missing = scratch / "nowhere.yaml"
    return Broken(check_args(project, "--topology", str(missing)), [f"{missing}", "does not exist"])


def topology_option_a_folder(project: Path, scratch: Path) -> Broken:
    return Broken(check_args(project, "--topology", str(scratch)), [f"{scratch}", "is a folder"])


# --- schema files ----------------------------------------------------------------------------------


def schema_key_line(project: Path) -> str:
    topology = project / "topology.yaml"
    return f'{topology}:{line_of(topology, "schema:")}: events."order.placed".schema'


def schema_missing(project: Path, _: Path) -> Broken:
    (project / "schemas" / "order.placed.json").unlink()
    return Broken(check_args(project), [schema_key_line(project), "which does not exist"])


def schema_is_a_folder(project: Path, _: Path) -> Broken:
    (project / "schemas" / "order.placed.json").unlink()
    (project / "schemas" / "order.placed.json").mkdir()
    return Broken(check_args(project), [schema_key_line(project), "which is a folder"])


def schema_invalid_json(project: Path, _: Path) -> Broken:
    (project / "schemas" / "order.placed.json").write_text('{"type": "object",\n}\n')
    return Broken(check_args(project), [schema_key_line(project), "is not JSON", "line 2"])


def schema_invalid_json_schema(project: Path, _: Path) -> Broken:
    (project / "schemas" / "order.placed.json").write_text('{"type": "objekt"}\n')
    return Broken(check_args(project), [schema_key_line(project), "metaschema"])


def schema_outside_the_project(project: Path, _: Path) -> Broken:
    replace_in(project / "topology.yaml", "schemas/order.placed.json", "../order.placed.json")
    return Broken(check_args(project), [schema_key_line(project), "resolves outside it"])


# --- Lambda code folders ---------------------------------------------------------------------------


def lambda_code_key_line(project: Path) -> str:
    topology = project / "topology.yaml"
    return f"{topology}:{line_of(topology, 'code:')}: consumers.mailer.lambda.code"


def lambda_code_missing(project: Path, _: Path) -> Broken:
    (project / "topology.yaml").write_text(SMALL_TOPOLOGY + LAMBDA_CONSUMER)
    return Broken(check_args(project), [lambda_code_key_line(project), "which does not exist"])


def lambda_code_a_file(project: Path, _: Path) -> Broken:
    (project / "topology.yaml").write_text(SMALL_TOPOLOGY + LAMBDA_CONSUMER)
    (project / "functions").mkdir()
    (project / "functions" / "mailer").write_text("def handler(event, context): ...\n")
    return Broken(check_args(project), [lambda_code_key_line(project), "which is a file"])


# --- mock values -----------------------------------------------------------------------------------


def mock_values_missing(project: Path, scratch: Path) -> Broken:
    mocks = scratch / "mocks.yaml"
    return Broken(check_args(project, "--mock-values", str(mocks)), [f"{mocks}", "does not exist"])


def mock_values_a_folder(project: Path, scratch: Path) -> Broken:
    return Broken(check_args(project, "--mock-values", str(scratch)), [f"{scratch}", "is a folder"])


def mock_values_binary(project: Path, scratch: Path) -> Broken:
    mocks = scratch / "mocks.yaml"
    mocks.write_bytes(BINARY)
    return Broken(check_args(project, "--mock-values", str(mocks)), [f"{mocks}: the mocks file"])


def mock_values_invalid_yaml(project: Path, scratch: Path) -> Broken:
    mocks = scratch / "mocks.yaml"
    mocks.write_text("account_id: '1'\nregion: [eu\n")
    return Broken(
        check_args(project, "--mock-values", str(mocks)), [f"{mocks}:3: the mocks file is not"]
    )


def mock_values_unknown_key(project: Path, scratch: Path) -> Broken:
    mocks = scratch / "mocks.yaml"
    mocks.write_text("account_id: '123456789012'\nregoin: eu-west-1\n")
    return Broken(check_args(project, "--mock-values", str(mocks)), [f"{mocks}:2: regoin"])


def mock_values_next_to_the_stack_a_folder(project: Path, _: Path) -> Broken:
    mocks = project / "stacks" / "Pulumi.dev.mocks.yaml"
    mocks.mkdir()
    return Broken(check_args(project), [f"{mocks}: the mocks file is a folder"])


def mock_values_next_to_the_stack(project: Path, _: Path) -> Broken:
    mocks = project / "stacks" / "Pulumi.dev.mocks.yaml"
    mocks.write_text("account_id: 12345\n")
    return Broken(check_args(project), [f"{mocks}:1: account_id"])


# --- --program ------------------------------------------------------------------------------------


def program_missing(project: Path, _: Path) -> Broken:
    missing = project / "elsewhere"
    return Broken(check_args(missing), [f"{missing}", "does not exist"])


def program_a_file(project: Path, _: Path) -> Broken:
    return Broken(check_args(project / "__main__.py"), [f"{project / '__main__.py'}", "is a file"])


# --- the user's program ---------------------------------------------------------------------------


def program_raises_config_error(project: Path, _: Path) -> Broken:
    (project / "__main__.py").write_text(
        "from pathlib import Path\n"
        "from eventinfra.errors import ConfigError, Problem\n"
        "raise ConfigError([Problem(Path('settings.toml'), 'region', 'expected eu-west-1.', 4)])\n"
    )
    return Broken(check_args(project), ["settings.toml:4: region: expected eu-west-1."])


def program_has_a_bug(project: Path, _: Path) -> Broken:
    (project / "__main__.py").write_text("import pulumi\n\npulumi.export('x', undefined_name)\n")
    return Broken(
        check_args(project),
        [
            f"The Pulumi program failed at {project / '__main__.py'}:3: NameError: "
            "name 'undefined_name' is not defined"
        ],
    )


# --- outputs ---------------------------------------------------------------------------------------


def diagram_into_a_missing_folder(project: Path, scratch: Path) -> Broken:
    diagram = scratch / "missing" / "flow.md"
    return Broken(
        check_args(project, "--diagram", str(diagram)), [f"{diagram}", "No such file or directory"]
    )


def diagram_onto_a_folder(project: Path, scratch: Path) -> Broken:
    return Broken(check_args(project, "--diagram", str(scratch)), [f"{scratch}", "is a folder"])


def unknown_format(project: Path, _: Path) -> Broken:
    return Broken(check_args(project, "--format", "xml"), ["--format", "'xml'"])


# --- the policy pack and its config ---------------------------------------------------------------


def with_policies(project: Path, *extra: str) -> list[str]:
    return ["check", "--program", str(project), "--stack", "dev", *extra]


def policy_pack_missing(project: Path, scratch: Path) -> Broken:
    pack = scratch / "pack"
    return Broken(with_policies(project, "--policy-pack", str(pack)), [f"{pack}", "does not exist"])


def policy_pack_a_file(project: Path, _: Path) -> Broken:
    pack = project / "__main__.py"
    return Broken(with_policies(project, "--policy-pack", str(pack)), [f"{pack}", "is a file"])


def policy_pack_without_pulumipolicy_yaml(project: Path, scratch: Path) -> Broken:
    return Broken(
        with_policies(project, "--policy-pack", str(scratch)),
        [f"{scratch}", "no PulumiPolicy.yaml"],
    )


def policy_pack_binary_pulumipolicy_yaml(project: Path, scratch: Path) -> Broken:
    (scratch / "PulumiPolicy.yaml").write_bytes(BINARY)
    return Broken(
        with_policies(project, "--policy-pack", str(scratch)),
        [f"{scratch / 'PulumiPolicy.yaml'}: the policy pack file is not UTF-8 text"],
    )


def policy_pack_crashes(project: Path, scratch: Path) -> Broken:
    (scratch / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (scratch / "__main__.py").write_text("import json\n\njson.loads('{')\n")
    return Broken(
        with_policies(project, "--policy-pack", str(scratch)),
        [
            f"{scratch}",
            "exited before it started",
            "JSONDecodeError",
            f"{scratch / '__main__.py'}:3",
        ],
    )


def policy_config_missing(project: Path, scratch: Path) -> Broken:
    config = scratch / "policy.json"
    return Broken(
        with_policies(project, "--policy-config", str(config)), [f"{config}", "does not exist"]
    )


def policy_config_a_folder(project: Path, scratch: Path) -> Broken:
    return Broken(
        with_policies(project, "--policy-config", str(scratch)), [f"{scratch}", "is a folder"]
    )


def policy_config_binary(project: Path, scratch: Path) -> Broken:
    config = scratch / "policy.json"
    config.write_bytes(BINARY)
    return Broken(
        with_policies(project, "--policy-config", str(config)), [f"{config}: the policy config"]
    )


def policy_config_invalid_json(project: Path, scratch: Path) -> Broken:
    config = scratch / "policy.json"
    config.write_text('{\n  "all": "mandatory",\n}\n')
    return Broken(
        with_policies(project, "--policy-config", str(config)), [f"{config}:3: ", "not valid JSON"]
    )


def policy_config_unknown_policy(project: Path, scratch: Path) -> Broken:
    config = scratch / "policy.json"
    config.write_text(json.dumps({"sqs-queue-has-dlk": "mandatory"}))
    return Broken(
        with_policies(project, "--policy-pack", str(POLICY_PACK), "--policy-config", str(config)),
        [f"{config}", "'sqs-queue-has-dlk'"],
    )


def policy_config_bad_level(project: Path, scratch: Path) -> Broken:
    config = scratch / "policy.json"
    config.write_text(json.dumps({"all": "fatal"}))
    return Broken(
        with_policies(project, "--policy-pack", str(POLICY_PACK), "--policy-config", str(config)),
        [f"{config}", "'fatal'"],
    )


# --- docs, dlq and replay -------------------------------------------------------------------------


def docs_asyncapi_onto_a_folder(project: Path, scratch: Path) -> Broken:
    return Broken(
        ["docs", "--program", str(project), "--stack", "dev", "--asyncapi", str(scratch)],
        [f"{scratch}", "is a folder"],
    )


def docs_eventcatalog_onto_a_file(project: Path, _: Path) -> Broken:
    target = project / "Pulumi.yaml"
    return Broken(
        ["docs", "--program", str(project), "--stack", "dev", "--eventcatalog", str(target)],
        [f"{target}", "is a file"],
    )


def dlq_outputs_missing(_: Path, scratch: Path) -> Broken:
    outputs = scratch / "outputs.json"
    return Broken(["dlq", "list", "--outputs", str(outputs)], [f"{outputs}", "does not exist"])


def dlq_outputs_a_folder(_: Path, scratch: Path) -> Broken:
    return Broken(["dlq", "list", "--outputs", str(scratch)], [f"{scratch}", "is a folder"])


def dlq_outputs_binary(_: Path, scratch: Path) -> Broken:
    outputs = scratch / "outputs.json"
    outputs.write_bytes(BINARY)
    return Broken(
        ["dlq", "list", "--outputs", str(outputs)], [f"{outputs}: the stack outputs file is not"]
    )


def dlq_outputs_invalid_json(_: Path, scratch: Path) -> Broken:
    outputs = scratch / "outputs.json"
    outputs.write_text('{\n  "queue_urls": {},\n}\n')
    return Broken(["dlq", "list", "--outputs", str(outputs)], [f"{outputs}:3: "])


def replay_credentials_a_file(_: Path, scratch: Path) -> Broken:
    outputs = scratch / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "vhost": "dev",
                "exchanges": {"order.placed": "dev.order.placed"},
                "queues": {"ledger": "dev.ledger"},
                "dead_letter_queues": {"ledger": "dev.ledger.dlq"},
            }
        )
    )
    credentials = scratch / "credentials"
    credentials.write_text("guest\n")
    return Broken(
        [
            "replay",
            "order.placed",
            "--to",
            "ledger",
            "--outputs",
            str(outputs),
            "--rabbitmq-credentials",
            str(credentials),
        ],
        [f"{credentials}", "is a file"],
    )


def replay_credentials_binary(_: Path, scratch: Path) -> Broken:
    outputs = scratch / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "vhost": "dev",
                "exchanges": {"order.placed": "dev.order.placed"},
                "queues": {"ledger": "dev.ledger"},
                "dead_letter_queues": {"ledger": "dev.ledger.dlq"},
            }
        )
    )
    credentials = scratch / "credentials"
    credentials.mkdir()
    (credentials / "username").write_bytes(BINARY)
    (credentials / "password").write_text("secret\n")
    return Broken(
        [
            "dlq",
            "list",
            "--outputs",
            str(outputs),
            "--rabbitmq-credentials",
            str(credentials),
        ],
        [f"{credentials / 'username'}"],
    )


CASES: list[Arrange] = [
    project_file_missing,
    project_file_is_a_folder,
    project_file_binary,
    project_file_invalid_yaml,
    project_file_without_name,
    project_file_wrong_runtime,
    project_file_stack_config_dir_not_text,
    project_file_main_elsewhere,
    stack_unknown,
    stack_file_is_a_folder,
    stack_file_binary,
    stack_file_invalid_yaml,
    stack_file_a_list,
    stack_settings_missing,
    stack_settings_unknown_key,
    stack_settings_bad_value,
    stack_settings_secret,
    stack_region_secret,
    stack_topology_is_a_folder,
    topology_missing,
    topology_binary,
    topology_empty,
    topology_a_list,
    topology_invalid_yaml,
    topology_alias_bomb,
    topology_deep_nesting,
    topology_unknown_key,
    topology_bad_value,
    topology_option_missing,
    topology_option_a_folder,
    schema_missing,
    schema_is_a_folder,
    schema_invalid_json,
    schema_invalid_json_schema,
    schema_outside_the_project,
    lambda_code_missing,
    lambda_code_a_file,
    mock_values_missing,
    mock_values_a_folder,
    mock_values_binary,
    mock_values_invalid_yaml,
    mock_values_unknown_key,
    mock_values_next_to_the_stack,
    mock_values_next_to_the_stack_a_folder,
    program_missing,
    program_a_file,
    program_raises_config_error,
    program_has_a_bug,
    diagram_into_a_missing_folder,
    diagram_onto_a_folder,
    unknown_format,
    policy_pack_missing,
    policy_pack_a_file,
    policy_pack_without_pulumipolicy_yaml,
    policy_pack_binary_pulumipolicy_yaml,
    policy_pack_crashes,
    policy_config_missing,
    policy_config_a_folder,
    policy_config_binary,
    policy_config_invalid_json,
    policy_config_unknown_policy,
    policy_config_bad_level,
    docs_asyncapi_onto_a_folder,
    docs_eventcatalog_onto_a_file,
    dlq_outputs_missing,
    dlq_outputs_a_folder,
    dlq_outputs_binary,
    dlq_outputs_invalid_json,
    replay_credentials_a_file,
    replay_credentials_binary,
]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and everything printed; argparse's own refusals exit through SystemExit."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else EXIT_INVALID
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("arrange", CASES, ids=[case.__name__ for case in CASES])
def test_a_bad_input_exits_2_naming_the_users_file(
    arrange: Arrange, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = small_project(tmp_path / "project")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    broken = arrange(project, scratch)

    code, output = run(broken.argv, capsys)

    # One line per message, as printed unwrapped: a fragment must not depend on line breaks.
    flat = re.sub(r"\s*\n\s*", " ", output)
    assert code == EXIT_INVALID, output
    assert "Traceback" not in output
    assert str(EVENTINFRA_SOURCE) not in output
    assert "site-packages" not in output
    for fragment in broken.expected:
        assert fragment in flat, f"{fragment!r} not in:\n{output}"


def test_the_small_project_plans(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Each case above breaks one input of this project: unbroken, it must pass.
    project = small_project(tmp_path / "project")
    code, output = run(check_args(project), capsys)
    assert code == EXIT_OK, output
    assert "EventConsumer events-consumer-ledger" in output


def test_a_failure_inside_eventinfra_is_never_placed_in_its_source() -> None:
    # The repository is itself a program whose folder holds eventinfra: a failure raised inside
    # eventinfra's own code is the program's (at its own line) or nobody's, never
    # `components/eventinfra/…:<line>`, which a user cannot act on.
    from eventinfra.check.synth.run import _program_error
    from eventinfra.keypaths import format_key_path

    try:
        format_key_path(None)  # type: ignore[arg-type]
    except TypeError as error:
        raised = error

    reported = _program_error(raised, REPOSITORY, REPOSITORY)

    # Here the caller, this test, stands for the program's own line.
    assert raised.__traceback__ is not None
    calling_line = raised.__traceback__.tb_lineno
    this_file = Path(__file__).relative_to(REPOSITORY)
    assert str(reported) == (
        f"The Pulumi program failed at {this_file}:{calling_line}: "
        "TypeError: 'NoneType' object is not iterable"
    )
    assert str(EVENTINFRA_SOURCE.relative_to(REPOSITORY)) not in str(reported)
