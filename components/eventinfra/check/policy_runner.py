"""Evaluate a CrossGuard policy pack offline over the Analyzer gRPC protocol the Pulumi CLI uses."""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

import grpc
import jsonschema
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from eventinfra.config.yaml_reader import YamlDocument
from eventinfra.errors import PolicyConfigError, PolicyPackError
from eventinfra.graph import RecordedResource
from eventinfra.yaml_errors import describe_yaml_error, key_lines

__all__ = [
    "NotApplicable",
    "PolicyConfigError",
    "PolicyInfo",
    "PolicyPackError",
    "PolicyReport",
    "Violation",
    "evaluate_policies",
]

EnforcementLevel = Literal["advisory", "mandatory", "remediate", "disabled"]
Severity = Literal["low", "medium", "high", "critical"]

# `python -m pulumi.policy` parses the engine address but never uses it: it configures the
# runtime without an engine, so `pulumi.log.*` inside a pack prints to stderr (which we capture)
# instead of calling Engine.Log. Nothing needs to answer here; port 0 guarantees that a future SDK
# which did dial it would fail at once instead of reaching some unrelated local service.
ENGINE_ADDRESS_NOBODY_ANSWERS: Final = "127.0.0.1:0"

# The CLI runs the pack with `pulumi preview` semantics when it only checks (`pulumi policy check`
# sets DryRun), and offline evaluation never deploys anything.
DRY_RUN: Final = "true"
# What the diy backend reports as the organization; `pulumi.policy` falls back to the same word.
DEFAULT_ORGANIZATION: Final = "organization"

PACK_START_TIMEOUT_SECONDS: Final = 60.0  # imports pulumi, grpc and the pack's own dependencies
RPC_TIMEOUT_SECONDS: Final = 120.0  # one Analyze, Configure or GetAnalyzerInfo call
STACK_RPC_TIMEOUT_SECONDS: Final = 900.0  # AnalyzeStack: every stack policy over ~15,000 resources
SHUTDOWN_TIMEOUT_SECONDS: Final = 5.0
# The SDK's server accepts 400 MB messages; the CLI dials with the same limit. A 15,000-resource
# AnalyzeStack request, or a response with a violation per resource, exceeds gRPC's 4 MB default.
MAX_MESSAGE_BYTES: Final = 400 * 1024 * 1024
# Analyze calls kept in flight on the one channel, one per worker thread of the SDK's server.
# Measured with a trivial pack on 2 cores (10,000 resources): one blocking call after another
# ~1,200 resources/s; 2-4 in flight ~2,800-3,000/s; a 4-thread client pool ~2,600/s; 8 or 32 in
# flight slower again (~2,400/s), as the server's workers then only contend for its one GIL.
ANALYZE_IN_FLIGHT: Final = 4
STDERR_TAIL_LINES: Final = 40

_LEVEL_NAMES: Final[dict[analyzer_pb2.EnforcementLevel.ValueType, EnforcementLevel]] = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
_LEVEL_VALUES: Final[dict[str, analyzer_pb2.EnforcementLevel.ValueType]] = {
    name: value for value, name in _LEVEL_NAMES.items()
}
_SEVERITY_NAMES: Final[dict[int, Severity]] = {
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
_POLICY_TYPES: Final[dict[int, Literal["resource", "stack", "unknown"]]] = {
    analyzer_pb2.POLICY_TYPE_RESOURCE: "resource",
    analyzer_pb2.POLICY_TYPE_STACK: "stack",
}
_ALL_POLICIES: Final = "all"
_ENFORCEMENT_LEVEL_KEY: Final = "enforcementLevel"
_PROVIDER_TYPE_PREFIX: Final = "pulumi:providers:"


@dataclass(frozen=True)
class PolicyInfo:
    """One policy as the pack describes it (GetAnalyzerInfo), with the configuration it ran with."""

    name: str
    description: str
    policy_type: Literal["resource", "stack", "unknown"]
    enforcement_level: EnforcementLevel
    """The level after pack default < policy < initial config < the policy config file."""
    severity: Severity | None
    display_name: str = ""
    config_schema: Mapping[str, Any] = field(default_factory=dict)
    """`{"properties": {...}, "required": [...]}` as the pack declares it (JSON Schema per key)."""
    initial_config: Mapping[str, Any] = field(default_factory=dict)
    """The pack's own `initial_config` entry for this policy, `enforcementLevel` included."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """The resolved properties sent with Configure (schema defaults applied)."""
    remediation_steps: str = ""
    url: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Violation:
    """One policy diagnostic, as the CLI would print it."""

    policy_name: str
    policy_pack: str
    enforcement_level: EnforcementLevel
    urn: str | None
    """The offending resource. None for a stack policy that named no resource of the stack (the
    CLI files those under the first resource it sent)."""
    message: str
    """What the policy reported, without the description the SDK puts in front of it."""
    description: str
    severity: Severity | None


@dataclass(frozen=True)
class NotApplicable:
    """A policy that declared itself not applicable (`args.not_applicable(reason)`)."""

    policy_name: str
    urn: str | None
    """The resource for a resource policy; None for a stack policy."""
    reason: str


@dataclass(frozen=True)
class PolicyReport:
    """Everything one evaluation of a policy pack found."""

    pack_name: str
    pack_version: str
    policies: tuple[PolicyInfo, ...]
    violations: tuple[Violation, ...]
    not_applicable: tuple[NotApplicable, ...]
    resources_analyzed: int

    @property
    def has_mandatory(self) -> bool:
        """True when at least one violation would fail `pulumi preview`/`up`."""
        return any(v.enforcement_level == "mandatory" for v in self.violations)


def evaluate_policies(
    resources: Sequence[RecordedResource],
    pack_dir: Path,
    *,
    policy_config: Mapping[str, Any] | None = None,
    policy_config_file: Path | None = None,
    stack: str,
    project: str,
    python: str = sys.executable,
) -> PolicyReport:
    """Start the pack the way the CLI does, configure it, and run Analyze and AnalyzeStack.

    `policy_config` is the content of a `--policy-pack-config` JSON file, `policy_config_file`
    that file, named by every problem found in it. `python` must have
    `pulumi` and `pulumi-policy` installed (the pack's virtualenv, as the CLI's shim would pick).
    """
    pack_dir = Path(pack_dir).resolve()
    pack_version = _read_pack_version(pack_dir)
    with _PackProcess(pack_dir, python, stack=stack, project=project) as pack:
        info = pack.get_analyzer_info()
        resolved = _resolve_config(info, policy_config or {}, policy_config_file)
        pack.configure(resolved)
        pack.configure_stack(stack=stack, project=project)
        analyzable = [r for r in resources if not r.type.startswith(_PROVIDER_TYPE_PREFIX)]
        by_urn = {r.urn: r for r in resources}
        requests = [_analyze_request(r, by_urn) for r in analyzable]
        responses = pack.analyze_all(requests)
        stack_response = pack.analyze_stack(
            analyzer_pb2.AnalyzeStackRequest(
                resources=[_stack_resource(r, by_urn) for r in analyzable]
            )
        )

    policies = _policy_infos(info, resolved)
    severity_by_policy = {p.name: p.severity for p in policies}
    violations: list[Violation] = []
    not_applicable: list[NotApplicable] = []
    for request, response in zip(requests, responses, strict=True):
        violations += (_violation(d, request.urn, severity_by_policy) for d in response.diagnostics)
        not_applicable += (
            NotApplicable(n.policy_name, request.urn, n.reason) for n in response.not_applicable
        )
    stack_urns = {r.urn for r in analyzable}
    for diagnostic in stack_response.diagnostics:
        urn = diagnostic.urn if diagnostic.urn in stack_urns else None
        violations.append(_violation(diagnostic, urn, severity_by_policy))
    not_applicable += (
        NotApplicable(n.policy_name, None, n.reason) for n in stack_response.not_applicable
    )
    return PolicyReport(
        pack_name=info.name,
        pack_version=pack_version or info.version,
        policies=policies,
        violations=tuple(sorted(violations, key=_violation_order)),
        not_applicable=tuple(
            sorted(not_applicable, key=lambda n: (n.urn or "", n.policy_name, n.reason))
        ),
        resources_analyzed=len(analyzable),
    )


def _violation_order(violation: Violation) -> tuple[str, str, str, str]:
    return (violation.urn or "", violation.policy_name, violation.message, violation.description)


def _read_pack_version(pack_dir: Path) -> str:
    """Check the folder is a Python policy pack, as the CLI does before it starts anything."""
    project_file = pack_dir / "PulumiPolicy.yaml"
    if not pack_dir.exists():
        raise PolicyPackError(f"Policy pack folder {str(pack_dir)!r} does not exist.")
    if not pack_dir.is_dir():
        raise PolicyPackError(
            f"Policy pack folder {str(pack_dir)!r} is a file; expected the folder that holds "
            "PulumiPolicy.yaml and __main__.py."
        )
    if not project_file.exists():
        raise PolicyPackError(
            f"Policy pack folder {str(pack_dir)!r} has no PulumiPolicy.yaml; expected the folder "
            "that holds PulumiPolicy.yaml and __main__.py."
        )
    if not project_file.is_file():
        raise PolicyPackError(f"{project_file}: the policy pack file is a folder; expected YAML.")
    try:
        project = yaml.safe_load(project_file.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise PolicyPackError(
            f"{project_file}: the policy pack file is not UTF-8 text (invalid byte at offset "
            f"{error.start}); expected YAML text."
        ) from None
    except OSError as error:
        raise PolicyPackError(
            f"Cannot read the policy pack file {project_file}: {error.strerror or error}."
        ) from None
    except yaml.YAMLError as error:
        problem = describe_yaml_error(error)
        raise PolicyPackError(
            f"{problem.where(project_file)}: the policy pack file is not valid YAML: "
            f"{problem.reason}."
        ) from None
    if not isinstance(project, Mapping):
        raise PolicyPackError(f"{project_file} must be a mapping, but found {project!r}.")
    runtime = project.get("runtime")
    runtime_name = runtime.get("name") if isinstance(runtime, Mapping) else runtime
    if runtime_name != "python":
        raise PolicyPackError(
            f"{project_file}: runtime must be 'python' (this runner starts Python packs only), "
            f"but found {runtime_name!r}."
        )
    version = project.get("version", "")
    return str(version) if version is not None else ""


class _PackProcess:
    """A running `python -m pulumi.policy` process and the channel to its Analyzer server."""

    def __init__(self, pack_dir: Path, python: str, *, stack: str, project: str) -> None:
        self._pack_dir = pack_dir
        self._python = python
        self._env = {
            **os.environ,
            # What the CLI's constructEnv adds: the pack sees the same stack identity.
            "PULUMI_PROJECT": project,
            "PULUMI_STACK": stack,
            "PULUMI_DRY_RUN": DRY_RUN,
            "PULUMI_ORGANIZATION": os.environ.get("PULUMI_ORGANIZATION", DEFAULT_ORGANIZATION),
        }
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._stdout_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._readers: list[threading.Thread] = []
        self.stub: analyzer_pb2_grpc.AnalyzerStub | None = None

    def __enter__(self) -> _PackProcess:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _start(self) -> None:
        # The CLI's analyzer plugin runs the shim with the pack folder as working directory and
        # "." as the program; the shim then runs exactly this command line.
        try:
            self._process = subprocess.Popen(
                [self._python, "-u", "-m", "pulumi.policy", ENGINE_ADDRESS_NOBODY_ANSWERS, "."],
                cwd=self._pack_dir,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as error:
            raise PolicyPackError(
                f"Cannot run the Python interpreter {self._python!r} for the policy pack: "
                f"{error.strerror or error}."
            ) from None
        first_line: list[bytes] = []
        port_printed = threading.Event()

        def read_stdout(stream: Any) -> None:
            # Keep draining after the port line: a pack that prints from a policy would
            # otherwise block on a full pipe in the middle of an RPC.
            for index, line in enumerate(iter(stream.readline, b"")):
                if index == 0:
                    first_line.append(line)
                    port_printed.set()
                else:
                    self._stdout_tail.append(line.decode(errors="replace").rstrip())
            port_printed.set()

        def read_stderr(stream: Any) -> None:
            for line in iter(stream.readline, b""):
                self._stderr_tail.append(line.decode(errors="replace").rstrip())

        self._readers = [
            threading.Thread(target=read_stdout, args=(self._process.stdout,), daemon=True),
            threading.Thread(target=read_stderr, args=(self._process.stderr,), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

        if not port_printed.wait(PACK_START_TIMEOUT_SECONDS):
            raise PolicyPackError(
                f"Policy pack {str(self._pack_dir)!r} did not print its port within "
                f"{PACK_START_TIMEOUT_SECONDS:.0f} s.{self._output_tail()}"
            )
        line = first_line[0].decode(errors="replace").strip() if first_line else ""
        if not line:
            self._wait_for_exit()
            raise PolicyPackError(
                f"Policy pack {str(self._pack_dir)!r} exited before it started its analyzer "
                f"server (exit code {self._process.returncode}).{self._output_tail()}"
            )
        if not line.isdigit():
            raise PolicyPackError(
                f"Policy pack {str(self._pack_dir)!r} printed {line!r} before its port; the CLI "
                "reads the first line of stdout as the port, so a pack must not print while it "
                f"starts.{self._output_tail()}"
            )
        self._channel = grpc.insecure_channel(
            f"127.0.0.1:{line}",
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        try:
            grpc.channel_ready_future(self._channel).result(timeout=PACK_START_TIMEOUT_SECONDS)
        except grpc.FutureTimeoutError:
            raise PolicyPackError(
                f"Policy pack {str(self._pack_dir)!r} printed port {line} but did not accept "
                f"a connection within {PACK_START_TIMEOUT_SECONDS:.0f} s.{self._output_tail()}"
            ) from None
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        self._handshake()

    def _handshake(self) -> None:
        # The CLI sends Handshake first and accepts UNIMPLEMENTED, which is what the Python SDK
        # answers; a pack that does answer gets the same directories the CLI would send.
        directory = str(self._pack_dir)
        request = analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address=ENGINE_ADDRESS_NOBODY_ANSWERS,
            root_directory=directory,
            program_directory=directory,
        )
        try:
            self._stub().Handshake(request, timeout=RPC_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise self._rpc_failure("Handshake", error) from None

    def _stub(self) -> analyzer_pb2_grpc.AnalyzerStub:
        assert self.stub is not None, "the pack is not started"
        return self.stub

    def get_analyzer_info(self) -> analyzer_pb2.AnalyzerInfo:
        try:
            info: analyzer_pb2.AnalyzerInfo = self._stub().GetAnalyzerInfo(
                empty_pb2.Empty(), timeout=RPC_TIMEOUT_SECONDS
            )
        except grpc.RpcError as error:
            raise self._rpc_failure("GetAnalyzerInfo", error) from None
        return info

    def configure(self, resolved: Mapping[str, _ResolvedPolicyConfig]) -> None:
        request = analyzer_pb2.ConfigureAnalyzerRequest(
            policyConfig={
                name: analyzer_pb2.PolicyConfig(
                    # Always explicit: the SDK turns an unset level (enum 0) into advisory.
                    enforcementLevel=_LEVEL_VALUES[config.enforcement_level],
                    properties=_struct(config.properties),
                )
                for name, config in resolved.items()
            }
        )
        try:
            self._stub().Configure(request, timeout=RPC_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            raise self._rpc_failure("Configure", error) from None

    def configure_stack(self, *, stack: str, project: str) -> None:
        request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=stack,
            project=project,
            organization=self._env["PULUMI_ORGANIZATION"],
            dry_run=DRY_RUN == "true",
        )
        try:
            self._stub().ConfigureStack(request, timeout=RPC_TIMEOUT_SECONDS)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise self._rpc_failure("ConfigureStack", error) from None

    def analyze_all(
        self, requests: Sequence[analyzer_pb2.AnalyzeRequest]
    ) -> list[analyzer_pb2.AnalyzeResponse]:
        """Analyze every resource, keeping ANALYZE_IN_FLIGHT calls outstanding on the channel.

        gRPC futures pipeline the calls without client threads (see ANALYZE_IN_FLIGHT for the
        measurements); results come back in request order.
        """
        stub = self._stub()
        responses: list[analyzer_pb2.AnalyzeResponse | None] = [None] * len(requests)
        pending: collections.deque[tuple[int, Any]] = collections.deque()
        for index, request in enumerate(requests):
            pending.append((index, stub.Analyze.future(request, timeout=RPC_TIMEOUT_SECONDS)))
            if len(pending) >= ANALYZE_IN_FLIGHT:
                self._collect(pending.popleft(), requests, responses)
        while pending:
            self._collect(pending.popleft(), requests, responses)
        return [response for response in responses if response is not None]

    def _collect(
        self,
        item: tuple[int, Any],
        requests: Sequence[analyzer_pb2.AnalyzeRequest],
        responses: list[analyzer_pb2.AnalyzeResponse | None],
    ) -> None:
        index, future = item
        try:
            responses[index] = future.result()
        except grpc.RpcError as error:
            raise self._rpc_failure(f"Analyze of {requests[index].urn!r}", error) from None

    def analyze_stack(
        self, request: analyzer_pb2.AnalyzeStackRequest
    ) -> analyzer_pb2.AnalyzeResponse:
        try:
            response: analyzer_pb2.AnalyzeResponse = self._stub().AnalyzeStack(
                request, timeout=STACK_RPC_TIMEOUT_SECONDS
            )
        except grpc.RpcError as error:
            raise self._rpc_failure("AnalyzeStack", error) from None
        return response

    def _rpc_failure(self, call: str, error: grpc.RpcError) -> PolicyPackError:
        if error.code() == grpc.StatusCode.UNAVAILABLE:
            self._wait_for_exit()
        details = error.details() or str(error.code())
        return PolicyPackError(
            f"Policy pack {str(self._pack_dir)!r} failed in {call}: {details}{self._output_tail()}"
        )

    def _wait_for_exit(self) -> None:
        """Give an exiting pack time to finish writing stderr, so the tail says why."""
        if self._process is not None:
            try:
                self._process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                return
        for reader in self._readers:
            reader.join(timeout=SHUTDOWN_TIMEOUT_SECONDS)

    def _output_tail(self) -> str:
        lines = _without_traceback_frames(self._stderr_tail, self._pack_dir) or list(
            self._stdout_tail
        )
        if not lines:
            return ""
        return "\nThe pack's last output:\n" + "\n".join(f"  {line}" for line in lines)

    def close(self) -> None:
        """Stop the pack whatever state it is in; every wait is bounded."""
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
        for reader in self._readers:
            reader.join(timeout=SHUTDOWN_TIMEOUT_SECONDS)
        if process is not None and not any(reader.is_alive() for reader in self._readers):
            # Closing a pipe that a reader still blocks on would wait for that reader forever.
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()


_FRAME: Final = re.compile(r'^\s+File "(?P<file>[^"]+)", line (?P<line>\d+)')


def _without_traceback_frames(lines: Iterable[str], pack_dir: Path | None = None) -> list[str]:
    """Keep the pack's messages and the exception line; drop the stack frames in between.

    The exception line is prefixed with `file:line` of the deepest frame inside `pack_dir`: the
    line of the pack's own code that failed, never a path into pulumi or eventinfra."""
    kept: list[str] = []
    in_traceback = False
    pack_frame: str | None = None
    for line in lines:
        if line.startswith("Traceback (most recent call last):"):
            in_traceback, pack_frame = True, None
            continue
        if in_traceback and (line.startswith((" ", "\t")) or not line.strip()):
            frame = _FRAME.match(line)
            if frame and pack_dir is not None and Path(frame["file"]).is_relative_to(pack_dir):
                pack_frame = f"{frame['file']}:{frame['line']}"
            continue
        if in_traceback and pack_frame is not None and line.strip():
            line = f"{pack_frame}: {line}"
        in_traceback = False
        if line.strip():
            kept.append(line)
    return kept


@dataclass(frozen=True)
class _ResolvedPolicyConfig:
    enforcement_level: EnforcementLevel
    properties: dict[str, Any]


def _resolve_config(
    info: analyzer_pb2.AnalyzerInfo, user_config: Mapping[str, Any], file: Path | None = None
) -> dict[str, _ResolvedPolicyConfig]:
    """Resolve every policy's level and properties the way the engine does, then validate.

    Precedence (engine `ReconcilePolicyPackConfig`): schema defaults and the policy's own level
    < the pack's `initial_config` < the policy config file; within one layer `"all"` first, then
    the named policy. Stricter than the engine: an unknown policy name, or a property key the
    policy's schema does not declare, is an error here instead of being silently ignored.
    """
    schemas = {policy.name: _schema_of(policy) for policy in info.policies}
    levels: dict[str, EnforcementLevel] = {
        policy.name: _LEVEL_NAMES.get(policy.enforcementLevel, "advisory")
        for policy in info.policies
    }
    properties: dict[str, dict[str, Any]] = {
        name: {
            key: prop_schema["default"]
            for key, prop_schema in schema["properties"].items()
            if isinstance(prop_schema, Mapping) and "default" in prop_schema
        }
        for name, schema in schemas.items()
    }

    # A Python pack's initial_config reaches the engine as proto PolicyConfig messages, where an
    # entry without `enforcementLevel` reads as ADVISORY (enum 0). The engine applies it as such,
    # so do the same: `initial_config={"p": {"x": 1}}` makes "p" advisory under the CLI too.
    initial_layer = {
        name: {
            _ENFORCEMENT_LEVEL_KEY: _LEVEL_NAMES.get(entry.enforcementLevel, "advisory"),
            **json_format.MessageToDict(entry.properties),
        }
        for name, entry in info.initialConfig.items()
    }
    problems: list[_ConfigProblem] = []
    for layer, source in (
        (initial_layer, "the pack's initial_config"),
        (user_config, "the policy config"),
    ):
        _apply_layer(layer, source, levels, properties, problems)
    for name, schema in schemas.items():
        problems += _schema_problems(name, schema, properties[name])
    if problems:
        document = _config_document(file) if file is not None else None
        located = sorted((problem.line(document) or 0, problem.text) for problem in problems)
        raise PolicyConfigError(
            [f"{file}:{line}: {text}" if line else text for line, text in located], file
        )
    return {name: _ResolvedPolicyConfig(levels[name], properties[name]) for name in schemas}


@dataclass(frozen=True)
class _ConfigProblem:
    text: str
    key_path: tuple[str, ...] | None
    """Where in the policy config file; None for a problem of the pack's own initial_config."""

    def line(self, document: YamlDocument | None) -> int | None:
        if document is None or self.key_path is None:
            return None
        return document.line_of(self.key_path)


def _config_document(file: Path) -> YamlDocument | None:
    """The (valid JSON) config file with the line of each policy name and property key.

    JSON is YAML once tabs, which JSON allows only between tokens, are spaces; a line is a
    courtesy, so a file the YAML reader does not take gets none."""
    try:
        node = yaml.compose(file.read_text(encoding="utf-8").replace("\t", " "), yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return YamlDocument(file, None, key_lines(node, max_depth=2))


def _schema_of(policy: analyzer_pb2.PolicyInfo) -> dict[str, Any]:
    return {
        "properties": json_format.MessageToDict(policy.configSchema.properties),
        "required": list(policy.configSchema.required),
    }


def _apply_layer(
    layer: Mapping[str, Any],
    source: str,
    levels: dict[str, EnforcementLevel],
    properties: dict[str, dict[str, Any]],
    problems: list[_ConfigProblem],
) -> None:
    in_file = source == "the policy config"

    def problem(text: str, *key_path: str) -> None:
        problems.append(_ConfigProblem(text, key_path if in_file else None))

    if not isinstance(layer, Mapping):
        problem(
            f"{_capitalised(source)} must be a JSON object of policy names, but found {layer!r}."
        )
        return
    known = sorted(levels)
    entries = sorted(layer.items(), key=lambda item: item[0] != _ALL_POLICIES)
    for name, value in entries:
        if name != _ALL_POLICIES and name not in levels:
            problem(
                f"{_capitalised(source)} names policy {name!r}, but the pack has no such "
                f"policy; expected 'all' or one of {', '.join(map(repr, known))}.",
                name,
            )
            continue
        level, props = _split_entry(name, value, source, problem)
        targets = known if name == _ALL_POLICIES else [name]
        if level is not None:
            for target in targets:
                levels[target] = level
        if props and name == _ALL_POLICIES:
            problem(
                f"{_capitalised(source)} gives 'all' the keys "
                f"{', '.join(map(repr, sorted(props)))}; 'all' takes only an enforcement level.",
                name,
                sorted(props)[0],
            )
        elif props:
            properties[name].update(props)


def _split_entry(
    name: str, value: Any, source: str, problem: Callable[..., None]
) -> tuple[EnforcementLevel | None, dict[str, Any]]:
    """An entry is a level string, or an object of properties and an optional `enforcementLevel`."""
    if isinstance(value, str):
        raw_level: Any = value
        props: dict[str, Any] = {}
    elif isinstance(value, Mapping):
        props = {k: v for k, v in value.items() if k != _ENFORCEMENT_LEVEL_KEY}
        raw_level = value.get(_ENFORCEMENT_LEVEL_KEY)
        if raw_level is None:
            return None, props
    else:
        problem(
            f"{_capitalised(source)} entry {name!r} must be an enforcement level or an object "
            'such as {"enforcementLevel": "mandatory", "<key>": <value>}, '
            f"but found {value!r}.",
            name,
        )
        return None, {}
    if raw_level not in _LEVEL_VALUES:
        key_path = (name,) if isinstance(value, str) else (name, _ENFORCEMENT_LEVEL_KEY)
        problem(
            f"{_capitalised(source)} key {'.'.join(key_path)!r} must be one of "
            f"{', '.join(map(repr, _LEVEL_VALUES))}, but found {raw_level!r}.",
            *key_path,
        )
        return None, props
    level: EnforcementLevel = _LEVEL_NAMES[_LEVEL_VALUES[raw_level]]
    return level, props


def _schema_problems(
    name: str, schema: Mapping[str, Any], props: Mapping[str, Any]
) -> list[_ConfigProblem]:
    declared = schema["properties"]
    problems = [
        _ConfigProblem(
            f"The policy config gives policy {name!r} the key {key!r}, but its config schema "
            + (
                f"declares only {', '.join(map(repr, sorted(declared)))}."
                if declared
                else "declares no keys."
            ),
            (name, key),
        )
        for key in sorted(props)
        if key not in declared
    ]
    problems += (
        _ConfigProblem(
            f"The policy config for policy {name!r} must set the required key {key!r}, "
            "but it is missing.",
            (name,),
        )
        for key in schema["required"]
        if key not in props
    )
    # The engine validates {"type": "object", "properties", "required"} with gojsonschema
    # (draft 4-7); draft 7 is the closest, and like Go it accepts 5.0 as an integer.
    validator = jsonschema.Draft7Validator({"type": "object", "properties": declared})
    errors = sorted(validator.iter_errors(dict(props)), key=lambda e: list(map(str, e.path)))
    problems += (
        _ConfigProblem(_schema_error_sentence(name, error), (name, *map(str, error.absolute_path)))
        for error in errors
    )
    return problems


def _schema_error_sentence(name: str, error: jsonschema.ValidationError) -> str:
    path = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return (
            f"The policy config key '{name}.{path}' must be of type {expected_text}, but found "
            f"{error.instance!r} ({type(error.instance).__name__})."
        )
    if error.validator == "enum" and isinstance(error.validator_value, list):
        return (
            f"The policy config key '{name}.{path}' must be one of "
            f"{', '.join(map(repr, error.validator_value))}, but found {error.instance!r}."
        )
    return (
        f"The policy config key '{name}.{path}' must satisfy its config schema "
        f"({error.message}), but found {error.instance!r}."
    )


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(values)
    return result


def _provider_of(
    resource: RecordedResource, by_urn: Mapping[str, RecordedResource]
) -> analyzer_pb2.AnalyzerProviderResource | None:
    """A provider reference is `<provider URN>::<provider id>`; only known providers are sent."""
    if not resource.provider:
        return None
    provider = by_urn.get(resource.provider) or by_urn.get(resource.provider.rsplit("::", 1)[0])
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type,
        urn=provider.urn,
        name=provider.name,
        properties=_struct(provider.inputs),
    )


def _options(resource: RecordedResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        parent=resource.parent or "",
        # The engine always sends the timeouts block, zero when unset.
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
    )


def _analyze_request(
    resource: RecordedResource, by_urn: Mapping[str, RecordedResource]
) -> analyzer_pb2.AnalyzeRequest:
    return analyzer_pb2.AnalyzeRequest(
        type=resource.type,
        properties=_struct(resource.inputs),
        urn=resource.urn,
        name=resource.name,
        options=_options(resource),
        provider=_provider_of(resource, by_urn),
    )


def _stack_resource(
    resource: RecordedResource, by_urn: Mapping[str, RecordedResource]
) -> analyzer_pb2.AnalyzerResource:
    return analyzer_pb2.AnalyzerResource(
        type=resource.type,
        properties=_struct(resource.outputs),
        urn=resource.urn,
        name=resource.name,
        options=_options(resource),
        provider=_provider_of(resource, by_urn),
        parent=resource.parent or "",
        dependencies=list(resource.dependencies),
        propertyDependencies={
            # Like the engine, leave out properties that depend on nothing.
            key: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns))
            for key, urns in resource.property_dependencies.items()
            if urns
        },
    )


def _violation(
    diagnostic: analyzer_pb2.AnalyzeDiagnostic,
    urn: str | None,
    severity_by_policy: Mapping[str, Severity | None],
) -> Violation:
    # The SDK sends "<description>\n<message>"; keep the two apart.
    message = diagnostic.message
    prefix = diagnostic.description + "\n"
    if diagnostic.description and message.startswith(prefix):
        message = message[len(prefix) :]
    elif message == diagnostic.description:
        message = ""
    level = _LEVEL_NAMES.get(diagnostic.enforcementLevel, "advisory")
    return Violation(
        policy_name=diagnostic.policyName,
        policy_pack=diagnostic.policyPackName,
        # The CLI reports a violation of a remediating policy as mandatory.
        enforcement_level="mandatory" if level == "remediate" else level,
        urn=urn or None,
        message=message or diagnostic.description,
        description=diagnostic.description,
        severity=_SEVERITY_NAMES.get(diagnostic.severity)
        or severity_by_policy.get(diagnostic.policyName),
    )


def _policy_infos(
    info: analyzer_pb2.AnalyzerInfo, resolved: Mapping[str, _ResolvedPolicyConfig]
) -> tuple[PolicyInfo, ...]:
    policies = []
    for policy in info.policies:
        initial_config: dict[str, Any] = {}
        if policy.name in info.initialConfig:  # indexing a proto map inserts missing keys
            initial = info.initialConfig[policy.name]
            initial_config = {
                _ENFORCEMENT_LEVEL_KEY: _LEVEL_NAMES.get(initial.enforcementLevel, "advisory"),
                **json_format.MessageToDict(initial.properties),
            }
        policies.append(
            PolicyInfo(
                name=policy.name,
                description=policy.description,
                policy_type=_POLICY_TYPES.get(policy.policy_type, "unknown"),
                enforcement_level=resolved[policy.name].enforcement_level,
                severity=_SEVERITY_NAMES.get(policy.severity),
                display_name=policy.displayName,
                config_schema=_schema_of(policy),
                initial_config=initial_config,
                config=dict(resolved[policy.name].properties),
                remediation_steps=policy.remediation_steps,
                url=policy.url,
                tags=tuple(policy.tags),
            )
        )
    return tuple(sorted(policies, key=lambda p: p.name))
