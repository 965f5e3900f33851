"""SnsSqsPlatform keeps existing stacks' resources through its rename, and two fit in one stack."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from eventinfra import EventPlatform, SnsSqsPlatform, load_platform_config
from eventinfra.check.synth import Synthesis, record, synthesize
from eventinfra.config.loader import PlatformConfig
from eventinfra.graph import RecordedResource
from tests.support import REPOSITORY
from tests.support.config_fixtures import base_settings, write_project

GOLDEN = REPOSITORY / "tests" / "aws" / "golden"
CHAIN = "urn:pulumi:dev::eventinfra::eventinfra:index:EventPlatform"


@pytest.fixture(scope="module", params=["dev", "prod"])
def example(request: pytest.FixtureRequest) -> tuple[Synthesis, list[str]]:
    stack: str = request.param
    before = (GOLDEN / f"{stack}.before-rename.urns.txt").read_text().splitlines()
    return synthesize(REPOSITORY, stack), before


def claims(resource: RecordedResource, urn: str) -> bool:
    """The engine finds `urn`'s old state for this resource: its URN, or one of its aliases."""
    return resource.urn == urn or urn in resource.aliases


def test_every_urn_from_before_the_rename_is_claimed_by_exactly_one_resource(
    example: tuple[Synthesis, list[str]],
) -> None:
    synthesis, before = example
    assert synthesis.stack_urn in before
    unclaimed = []
    shared = {}
    for urn in before:
        if urn == synthesis.stack_urn:
            continue
        claimants = [r.urn for r in synthesis.resources if claims(r, urn)]
        if not claimants:
            unclaimed.append(urn)
        elif len(claimants) > 1:
            shared[urn] = claimants
    assert unclaimed == []
    assert shared == {}  # the engine rejects two resources aliasing one old resource


def test_every_resource_takes_over_exactly_one_old_resource_so_the_upgrade_creates_nothing(
    example: tuple[Synthesis, list[str]],
) -> None:
    synthesis, before = example
    taken = {r.urn: [urn for urn in before if claims(r, urn)] for r in synthesis.resources}
    assert {urn: old for urn, old in taken.items() if len(old) != 1} == {}
    assert len(synthesis.resources) + 1 == len(before)  # and the stack itself


def test_direct_children_carry_an_alias_and_grandchildren_inherit_it() -> None:
    synthesis = synthesize(REPOSITORY, "dev")

    def aliases(name: str) -> tuple[str, ...]:
        return synthesis.named(name).aliases

    assert aliases("events-event-order-placed") == (
        f"{CHAIN}$eventinfra:index:EventTopic::order-placed",
    )
    assert aliases("events-event-order-placed-topic") == (
        f"{CHAIN}$eventinfra:index:EventTopic$aws:sns/topic:Topic::order-placed-topic",
    )
    assert aliases("events-producer-billing-publish-policy") == (
        f"{CHAIN}$eventinfra:index:EventProducer$aws:iam/policy:Policy::billing-publish-policy",
    )
    assert aliases("events-parking-invoice-paid-queue") == (
        f"{CHAIN}$eventinfra:index:ParkingQueue$aws:sqs/queue:Queue::invoice-paid-parking-queue",
    )
    # Three levels down: platform > consumer > idempotency store > table.
    assert aliases("events-consumer-analytics-idempotency-table") == (
        f"{CHAIN}$eventinfra:index:EventConsumer$eventinfra:index:IdempotencyStore"
        "$aws:dynamodb/table:Table::analytics-idempotency-table",
    )
    # Named after the platform before and after: nothing to alias.
    assert aliases("events-key") == aliases("events-dashboard") == ()


def test_iam_policy_descriptions_keep_the_topology_names() -> None:
    # IAM cannot change a policy's description: a new one would replace the policy, and a
    # consumer's policy is attached outside Pulumi, so deleting it would fail (DeleteConflict).
    synthesis = synthesize(REPOSITORY, "dev")

    producer = synthesis.named("events-producer-billing-publish-policy")
    consumer = synthesis.named("events-consumer-analytics-consumer-policy")
    assert producer.inputs["description"] == "Lets billing publish its events, and nothing else."
    assert consumer.inputs["description"] == (
        "What the external consumer analytics needs to read its queue."
    )


def test_the_type_token_and_the_old_class_name_stay(tmp_path: Path) -> None:
    synthesis = synthesize(REPOSITORY, "dev")
    assert synthesis.named("events").type == "eventinfra:index:EventPlatform"
    # `EventPlatform(name, config)` still runs, and builds what `from_config` builds.
    config = platform_config(tmp_path / "old-and-new", "dev")
    old = record(lambda: EventPlatform("events", config))
    new = record(lambda: SnsSqsPlatform.from_config("events", config))
    assert issubclass(EventPlatform, SnsSqsPlatform)
    # Everything but where in this file each was declared.
    assert [replace(r, source_position=None) for r in old.resources] == [
        replace(r, source_position=None) for r in new.resources
    ]


# --- two platforms in one stack ----------------------------------------------------------------


def platform_config(root: Path, prefix: str) -> PlatformConfig:
    root.mkdir()
    settings = {**base_settings(), "name_prefix": prefix}
    stack_file = write_project(root, settings=settings)
    return load_platform_config(settings, stack="dev", project_dir=root, stack_file=stack_file)


def descendants(synthesis: Synthesis, urn: str) -> list[RecordedResource]:
    found = []
    for child in synthesis.children(urn):
        found += [child, *descendants(synthesis, child.urn)]
    return found


def shape(resources: list[RecordedResource], platform: str) -> set[tuple[str, str]]:
    """Types and names, with the platform's name taken off the front."""
    assert all(r.name.startswith(f"{platform}-") for r in resources)
    return {(r.urn.split("::")[2], r.name.removeprefix(platform)) for r in resources}


def test_two_platforms_share_a_stack_each_with_all_its_children(tmp_path: Path) -> None:
    first = platform_config(tmp_path / "a", "team-a")
    second = platform_config(tmp_path / "b", "team-b")
    alone = record(lambda: SnsSqsPlatform.from_config("a", first))

    def build_both() -> None:
        SnsSqsPlatform.from_config("a", first)
        SnsSqsPlatform.from_config("b", second)

    both = record(build_both)  # raises PlanError on a duplicate URN

    a, b = both.named("a"), both.named("b")
    in_a, in_b = descendants(both, a.urn), descendants(both, b.urn)
    expected = shape(alone.resources[1:], "a")
    assert alone.resources[0].name == "a"
    assert shape(in_a, "a") == shape(in_b, "b") == expected
    assert len(both.resources) == 2 + 2 * len(expected)
    physical = [
        {r.inputs["name"] for r in resources if "name" in r.inputs} for resources in (in_a, in_b)
    ]
    assert physical[0] and physical[1]
    assert physical[0].isdisjoint(physical[1])
