"""The shared stack-rule loop: each resource of the types, joins built once, unknowns deferred."""

from __future__ import annotations

from pulumi_policy import ReportViolation, StackValidation, StackValidationPolicy

from eventinfra_policies.common import Res as StackResource
from eventinfra_policies.common import Stack, stack_validator
from tests.policies.factories import UNKNOWN, Res, check_stack

WIDGET = "test:index:Widget"
GADGET = "test:index:Gadget"


def _policy(check: StackValidation) -> StackValidationPolicy:
    return StackValidationPolicy(name="test-widgets", description="test", validate=check)


def test_checks_each_resource_of_its_types_and_reports_any_urn() -> None:
    joins: list[int] = []

    def owners(stack: Stack) -> dict[str, str]:
        joins.append(1)
        return {str(g.known("owns")): g.urn for g in stack.of(GADGET)}

    @stack_validator([WIDGET])
    def check(stack: Stack, widget: StackResource, report_violation: ReportViolation) -> None:
        owner = stack.joined(owners).get(widget.name)
        if owner is None:
            return
        report_violation(f"Widget '{widget.name}' is owned.", owner)

    resources = [
        Res(WIDGET, "a"),
        Res(GADGET, "g", {"owns": "a"}),
        Res(WIDGET, "b"),
        Res(GADGET, "h", {"owns": "b"}),
    ]
    outcome = check_stack(_policy(check), resources)
    assert outcome.violations == [
        ("Widget 'a' is owned.", Res(GADGET, "g").urn),
        ("Widget 'b' is owned.", Res(GADGET, "h").urn),
    ]
    assert outcome.not_applicable is None
    assert joins == [1]  # one join for the whole policy call, not one per widget
    assert check.__name__ == "check"


def test_an_unknown_skips_only_its_resource_and_is_reported_after_the_violations() -> None:
    @stack_validator([WIDGET])
    def check(stack: Stack, widget: StackResource, report_violation: ReportViolation) -> None:
        report_violation(f"Widget '{widget.name}' has size {widget.get('size'):g}.", widget.urn)

    resources = [Res(WIDGET, "a", {"size": UNKNOWN}), Res(WIDGET, "b", {"size": 2})]
    outcome = check_stack(_policy(check), resources)
    assert outcome.messages == ["Widget 'b' has size 2."]
    assert outcome.not_applicable == (
        "could not check 'a': string value at .size can't be known during preview; "
        "checked again during `pulumi up`"
    )


def _owns(gadget: StackResource) -> object:
    return gadget.get("owns")


def test_a_lookup_gives_what_a_scan_gives_and_stops_where_the_scan_met_an_unknown() -> None:
    @stack_validator([WIDGET])
    def check(stack: Stack, widget: StackResource, report_violation: ReportViolation) -> None:
        owners = stack.lookup(GADGET, _owns).matching(lambda owns: owns == widget.name, widget.name)
        report_violation(f"Widget '{widget.name}': {[g.name for g in owners]}.", widget.urn)

    resources = [
        Res(WIDGET, "a"),
        Res(WIDGET, "b"),
        Res(GADGET, "g", {"owns": "a"}),
        Res(GADGET, "h", {"owns": None}),
        Res(GADGET, "i", {"owns": "b"}),
        Res(GADGET, "k", {"owns": "a"}),
    ]
    assert check_stack(_policy(check), resources).messages == [
        "Widget 'a': ['g', 'k'].",
        "Widget 'b': ['i'].",
    ]
    # A scan meeting j's unknown value stopped there: both widgets are left unchecked.
    outcome = check_stack(_policy(check), [*resources, Res(GADGET, "j", {"owns": UNKNOWN})])
    assert outcome.messages == []
    assert outcome.not_applicable == (
        "could not check 'a': string value at .owns can't be known during preview; "
        "'b': string value at .owns can't be known during preview; "
        "checked again during `pulumi up`"
    )
