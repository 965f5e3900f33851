"""Questions about a recorded graph: the longest chain of resources created one after another."""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from eventinfra.graph import RecordedResource


def critical_path(resources: Sequence[RecordedResource]) -> list[RecordedResource]:
    """The longest chain of custom resources that must be created one after another.

    Edges are `dependencies` and `propertyDependencies`; a dependency on a component stands for
    every custom resource inside it. Parent links and provider references do not order creation
    here. Ties go to the chain that ends (then starts) earliest in registration order.
    """
    by_urn = {resource.urn: resource for resource in resources}
    order = {resource.urn: index for index, resource in enumerate(resources)}
    children: dict[str, list[str]] = {}
    for resource in resources:
        if resource.parent is not None:
            children.setdefault(resource.parent, []).append(resource.urn)

    expanded: dict[str, frozenset[str]] = {}

    def custom_targets(urn: str) -> frozenset[str]:
        if urn not in expanded:
            expanded[urn] = frozenset()  # guards against a malformed, cyclic parent chain
            resource = by_urn.get(urn)
            if resource is None:
                result: frozenset[str] = frozenset()
            elif resource.custom:
                result = frozenset({urn})
            else:
                result = frozenset().union(*(custom_targets(c) for c in children.get(urn, [])))
            expanded[urn] = result
        return expanded[urn]

    customs = [resource for resource in resources if resource.custom]
    predecessors: dict[str, set[str]] = {}
    for resource in customs:
        direct = {*resource.dependencies}
        for deps in resource.property_dependencies.values():
            direct.update(deps)
        targets: set[str] = set()
        for dependency in direct:
            targets |= custom_targets(dependency)
        targets.discard(resource.urn)
        predecessors[resource.urn] = targets

    # Kahn's algorithm, taking ready resources in registration order.
    successors: dict[str, list[str]] = {resource.urn: [] for resource in customs}
    waiting = {urn: len(preds) for urn, preds in predecessors.items()}
    for urn, preds in predecessors.items():
        for pred in preds:
            successors[pred].append(urn)
    # A heap of (registration index, URN): the earliest ready resource first, without re-sorting.
    ready = [(order[urn], urn) for urn, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    length: dict[str, int] = {}
    previous: dict[str, str | None] = {}
    while ready:
        _, urn = heapq.heappop(ready)
        best = min(
            predecessors[urn],
            key=lambda pred: (-length[pred], order[pred]),
            default=None,
        )
        length[urn] = 1 + (length[best] if best is not None else 0)
        previous[urn] = best
        for successor in successors[urn]:
            waiting[successor] -= 1
            if waiting[successor] == 0:
                heapq.heappush(ready, (order[successor], successor))
    if not length:
        return []
    end: str | None = min(length, key=lambda urn: (-length[urn], order[urn]))
    chain: list[RecordedResource] = []
    while end is not None:
        chain.append(by_urn[end])
        end = previous[end]
    return chain[::-1]
