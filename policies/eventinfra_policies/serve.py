"""Start the eventinfra policy pack: the entry point of every pack folder that runs these rules."""

from __future__ import annotations

import asyncio
import gc
import threading
from inspect import isawaitable
from typing import Any, Final

import pulumi_policy.policy as sdk
from google.protobuf import json_format
from pulumi.runtime import proto
from pulumi_policy import PolicyPack
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from eventinfra_policies import all_policies


class _SharedPropertiesServicer(sdk._PolicyAnalyzerServicer):
    """The SDK's Analyzer (pulumi-policy 1.21), converting each resource once per request.

    The SDK converts every resource's properties (protobuf → dict → proxy) again for every
    policy: 19 times per `Analyze`, and every resource of the stack 17 times per `AnalyzeStack`,
    which was most of the pack's time at 1,000 consumers (benchmarks/RESULTS.md). Here each request
    converts once and every policy gets the same, equal values. That is safe because this pack's
    rules only read what they are given (stack policies each get their own list). The runtime
    settings, which the SDK re-applies on every call (they live in each worker thread's context),
    are applied once per worker thread. Everything else is the SDK's own code path, line for line.
    """

    _configured = threading.local()

    def _configure_runtime_settings(self) -> None:
        if not getattr(self._configured, "done", False):
            super()._configure_runtime_settings()  # type: ignore[no-untyped-call]
            self._configured.done = True

    def _sdk(self, name: str) -> Any:
        return getattr(self, f"_PolicyAnalyzerServicer__{name}")

    def _report(self, response: Any, policy: Any, level: sdk.EnforcementLevel) -> Any:
        return self._create_report_violation(
            response, policy.name, policy.description, level, policy.severity
        )

    def _unknown(self, policy: Any, error: UnknownValueError) -> Any:
        name, version = self._sdk("policy_pack_name"), self._sdk("policy_pack_version")
        return proto.AnalyzeDiagnostic(
            policyName=policy.name,
            policyPackName=name,
            policyPackVersion=version,
            message=(
                f"can't run policy '{policy.name}' from policy pack '{name}@v{version}' during "
                f"preview: {error.message}"
            ),
            urn="",
            description=policy.description,
            enforcementLevel=self._map_enforcement_level(sdk.EnforcementLevel.ADVISORY),
        )

    def _props(self, properties: Any) -> Any:
        return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(properties)))

    def Analyze(self, request: Any, _context: Any) -> Any:
        self._configure_runtime_settings()
        response = proto.AnalyzeResponse()
        shared: tuple[Any, Any, Any] | None = None
        for policy in self._sdk("policies"):
            level = self._get_enforcement_level(policy)
            if level == sdk.EnforcementLevel.DISABLED or not isinstance(
                policy, sdk.ResourceValidationPolicy
            ):
                continue
            if not policy.has_validation():
                response.not_applicable.append(
                    proto.PolicyNotApplicable(
                        policy_name=policy.name, reason="Policy does not implement validate"
                    )
                )
                continue
            if level == sdk.EnforcementLevel.REMEDIATE:
                level = sdk.EnforcementLevel.MANDATORY
            report_violation = self._report(response, policy, level)
            if shared is None:
                shared = (
                    self._props(request.properties),
                    self._get_resource_options(request),
                    self._get_provider_resource(request),
                )
            props, opts, provider = shared
            args = sdk.ResourceValidationArgs(
                request.type,
                props,
                request.urn,
                request.name,
                opts,
                provider,
                self._get_policy_config(policy.name),
                self._sdk("stack_tags"),
            )
            self._validate(policy, args, report_violation, response)
        return response

    def AnalyzeStack(self, request: Any, _context: Any) -> Any:
        self._configure_runtime_settings()
        response = proto.AnalyzeResponse()
        resources: list[sdk.PolicyResource] | None = None
        for policy in self._sdk("policies"):
            level = self._get_enforcement_level(policy)
            if level == sdk.EnforcementLevel.DISABLED or not isinstance(
                policy, sdk.StackValidationPolicy
            ):
                continue
            if level == sdk.EnforcementLevel.REMEDIATE:
                level = sdk.EnforcementLevel.MANDATORY
            report_violation = self._report(response, policy, level)
            if resources is None:
                resources = self._stack_resources(request)
            args = sdk.StackValidationArgs(
                list(resources), self._get_policy_config(policy.name), self._sdk("stack_tags")
            )
            self._validate(policy, args, report_violation, response)
        return response

    def _stack_resources(self, request: Any) -> list[sdk.PolicyResource]:
        """The SDK's graph of PolicyResources (parents and dependencies as objects)."""
        by_urn: dict[str, sdk.PolicyResource] = {}
        links = []
        for r in request.resources:
            resource = sdk.PolicyResource(
                r.type,
                self._props(r.properties),
                r.urn,
                r.name,
                self._get_resource_options(r),
                self._get_provider_resource(r),
                None,
                [],
                {},
            )
            by_urn[resource.urn] = resource
            by_property = {k: list(v.urns) for k, v in r.propertyDependencies.items()}
            links.append((resource, r.parent, list(r.dependencies), by_property))
        for resource, parent, dependencies, property_dependencies in links:
            if parent is not None and parent in by_urn:
                resource.parent = by_urn[parent]
            resource.dependencies.extend(by_urn[d] for d in dependencies if d in by_urn)
            for key, urns in property_dependencies.items():
                resource.property_dependencies[key] = [by_urn[u] for u in urns if u in by_urn]
        return [resource for resource, *_ in links]

    def _validate(self, policy: Any, args: Any, report_violation: Any, response: Any) -> None:
        try:
            result = policy.validate(args, report_violation)
            if isawaitable(result):
                loop = asyncio.new_event_loop()
                task: asyncio.Task[Any] = asyncio.Task(result, loop=loop)  # type: ignore[arg-type]
                loop.run_until_complete(task)
                loop.close()
        except UnknownValueError as error:
            response.diagnostics.append(self._unknown(policy, error))
        except sdk._NotApplicableError as error:
            response.not_applicable.append(
                proto.PolicyNotApplicable(policy_name=policy.name, reason=error.reason or "")
            )


# An AnalyzeStack of 16,000 resources keeps every resource's properties alive while each stack
# policy wraps them again, so each cyclic collection walks all of them and the default thresholds
# made the call superlinear: 4.2 s CPU at 1,000 consumers against 2.2 s with these (0.25 / 0.18 s
# at 100), for the same verdicts. The pack process serves one engine run and then exits.
GC_THRESHOLDS: Final = (10_000, 50, 1_000)


def serve() -> None:
    """Serve the Analyzer protocol until the engine stops the process (this never returns)."""
    gc.set_threshold(*GC_THRESHOLDS)
    # PolicyPack builds its servicer from this module global; the pack process serves only this
    # pack, so replacing it here changes nothing else.
    sdk._PolicyAnalyzerServicer = _SharedPropertiesServicer  # type: ignore[misc]
    PolicyPack(
        name="eventinfra",
        description="Reliability and security policies for eventinfra's SNS/SQS/Lambda resources "
        "and its RabbitMQ-on-Kubernetes backend.",
        display_name="eventinfra",
        policies=all_policies(),
        tags=["eventinfra", "aws", "sns", "sqs", "lambda", "kubernetes", "rabbitmq"],
    )
