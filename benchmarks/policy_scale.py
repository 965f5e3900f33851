"""Benchmark: the policy pack over generated topologies, against a pack of no-op policies.

Usage: python -m benchmarks.policy_scale [--sizes 10 100 1000] [--repeats 2]

For each size it synthesizes the generated topology of `synth_scale.py` once, then evaluates
the recorded graph through `eventinfra.check.policy_runner.evaluate_policies` — the pack launched as
the Pulumi CLI launches it, `Analyze` for every resource and `AnalyzeStack` for the graph — with
two packs: this repository's `policies/`, and a pack with the same number of resource and stack
policies that return at once. The no-op pack costs what the protocol itself costs (process start,
serialising every resource, the gRPC calls), so the ratio is what the rules add to it.
Target: full pack ≤ 2 x the no-op pack at 1,000 consumers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.synth_scale import STACK, machine, write_eventinfra_project
from eventinfra.check.policy_runner import evaluate_policies
from eventinfra.check.synth import synthesize
from tests.support import REPOSITORY

PACK = REPOSITORY / "policies"
RATIO_TARGET = 2.0
GROWTH_TARGET = 11.0  # 100 → 1,000 consumers: linear, with a margin (issue 13)

NO_OP_PACK = """\
from pulumi_policy import PolicyPack, ResourceValidationPolicy, StackValidationPolicy


def nothing(args, report_violation):
    return None


PolicyPack(
    name="no-op",
    policies=[ResourceValidationPolicy(name=f"resource-{i}", description="no-op", validate=nothing)
              for i in range({resources})]
    + [StackValidationPolicy(name=f"stack-{i}", description="no-op", validate=nothing)
       for i in range({stacks})],
)
"""


def no_op_pack(directory: Path, resource_policies: int, stack_policies: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "PulumiPolicy.yaml").write_text(
        "runtime: python\nversion: 0.0.1\ndescription: no-op policies\n"
    )
    (directory / "__main__.py").write_text(
        NO_OP_PACK.replace("{resources}", str(resource_policies)).replace(
            "{stacks}", str(stack_policies)
        )
    )
    return directory


def timed(resources: Sequence[object], pack: Path, repeats: int, config: object) -> float:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        evaluate_policies(
            resources,  # type: ignore[arg-type]
            pack,
            policy_config=config,  # type: ignore[arg-type]
            stack=STACK,
            project="eventinfra",
        )
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        first = evaluate_policies([], PACK, stack=STACK, project="eventinfra")
        kinds = [p.policy_type for p in first.policies]
        noop = no_op_pack(root / "no-op", kinds.count("resource"), kinds.count("stack"))
        # Every policy mandatory: all of them run, nothing is skipped as disabled.
        config = {"all": "mandatory"}
        rows = []
        for size in args.sizes:
            project = root / f"project-{size}"
            write_eventinfra_project(project, size)
            graph = synthesize(project, STACK).resources
            full = timed(graph, PACK, args.repeats, config)
            baseline = timed(graph, noop, args.repeats, config)
            rows.append((size, len(graph), full, baseline))
            print(
                f"{size} consumers: {len(graph)} resources, full {full:.2f} s, "
                f"no-op {baseline:.2f} s",
                file=sys.stderr,
            )

    print(f"Machine: {machine()}")
    print(
        f"Pack: {len(kinds)} policies ({kinds.count('resource')} resource, "
        f"{kinds.count('stack')} stack); median of {args.repeats} runs\n"
    )
    print("| consumers | resources | full pack (s) | no-op pack (s) | ratio | resources/s (full) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for size, count, full, baseline in rows:
        print(
            f"| {size} | {count} | {full:.2f} | {baseline:.2f} | {full / baseline:.2f} | "
            f"{count / full:,.0f} |"
        )
    size, _, full, baseline = rows[-1]
    verdict = "met" if full / baseline <= RATIO_TARGET else "MISSED"
    print(
        f"\nTarget full ≤ {RATIO_TARGET:g} x no-op at {size} consumers: {verdict} "
        f"({full / baseline:.2f})."
    )
    by_size = {size: (full, baseline) for size, _, full, baseline in rows}
    if 100 in by_size and 1000 in by_size:
        for label, column in (("full pack", 0), ("no-op pack", 1)):
            growth = by_size[1000][column] / by_size[100][column]
            verdict = "met" if growth <= GROWTH_TARGET else "MISSED"
            print(
                f"Growth 100 → 1,000 consumers, {label}: {growth:.1f}x "
                f"(target ≤ {GROWTH_TARGET:g}x, for the full pack): {verdict}."
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
