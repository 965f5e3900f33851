"""Benchmark: offline synthesis of generated topologies against flat, component-free baselines.

Usage: python benchmarks/synth_scale.py [--sizes 10 100 1000] [--repeats 3] [--large-repeats 1]

For each size it writes a project (this repository's Pulumi.yaml and __main__.py, a generated
topology and a stack file) into a temporary folder and synthesizes it with
`eventinfra.check.synth.synthesize`, each run in a fresh Python process so that peak memory
(`ru_maxrss`) belongs to that run alone. The recorded graph then becomes two baselines, each a
program with no components and no config that declares the same custom resources (types, names,
wire inputs byte for byte, dependency edges), synthesized by the same machinery:

- `pulumi_aws`: each resource through its pulumi_aws class (`aws.sqs.Queue(name, **inputs)`).
  This is the fair baseline and the one the targets use: it is what declaring the resources
  directly costs, and it pays what any real program pays per resource (the typed class, one
  Output per property). It is still a lower bound for a hand-written program: its inputs are
  literals, so it does no invokes and no `apply`/`json_dumps` between resources.
- `generic`: `pulumi.CustomResource(type, name, props)`, the floor of any Pulumi program. It
  skips pulumi_aws's classes, so a ratio against it also charges their cost to eventinfra.

Time is measured around `synthesize()` alone, after every variant has imported the same modules
(pulumi, pulumi_aws and the submodules used, eventinfra): the interpreter's start-up is not the
program's. Wall and CPU time are both reported; on a shared machine CPU time is the steadier one.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[1]
STACK = "bench"
VARIANTS = ("eventinfra", "pulumi_aws", "generic")
CHECK = "check"  # the whole `eventinfra check` of the eventinfra program (see measure_check)
FLOOR = "generic"  # what the whole check is compared with (issue 13)
CHECK_RATIO_TARGET = 2.0
GROWTH_TARGET = 11.0  # 100 → 1,000 consumers
CHECK_MEMORY_RATIO_TARGET = 1.5
BASELINE = "pulumi_aws"  # what the targets compare against (see the module docstring)
TIME_RATIO_TARGET = 1.5
TARGET_SIZE = 1000
LARGE_SIZE = 1000  # from here on `--large-repeats` runs per variant (one eventinfra run: minutes)
# Imported by every variant before the clock starts.
PRELOADED_MODULES = (
    "pulumi",
    "pulumi_aws",
    "pulumi_aws.cloudwatch",
    "pulumi_aws.dynamodb",
    "pulumi_aws.iam",
    "pulumi_aws.kms",
    "pulumi_aws.lambda_",
    "pulumi_aws.sns",
    "pulumi_aws.sqs",
    "eventinfra",
    "eventinfra.check.synth",
)

STACK_FILE = """\
config:
  aws:region: eu-west-1
  eventinfra:settings:
    broker: sns-sqs
    topology: topology.yaml
    name_prefix: bench
    alarms:
      email: bench@example.com
    log_retention_days: 14
    tags:
      environment: bench
"""

HANDLER = """\
def handler(event, context):
    return {"batchItemFailures": []}
"""

BASELINE_STACK = "config:\n  aws:region: eu-west-1\n"
BASELINE_COMMON = '''\
import importlib
import json
import re

import pulumi


def revive(value):
    """Archives back to SDK objects, so they cross the wire as the originals did."""
    if isinstance(value, dict):
        if set(value) == {"__archive"}:
            return pulumi.FileArchive(value["__archive"]["path"])
        return {key: revive(item) for key, item in value.items()}
    if isinstance(value, list):
        return [revive(item) for item in value]
    return value


with open("graph.json", encoding="utf-8") as graph:
    entries = json.load(graph)
declared = {}
'''
BASELINE_PROGRAMS = {
    "pulumi_aws": '''\
"""Every custom resource of a recorded graph, declared through its pulumi_aws class."""

'''
    + BASELINE_COMMON
    + """

def resource_class(token):
    _, module, name = token.split(":")
    module = module.split("/")[0]
    module = "lambda_" if module == "lambda" else module
    return getattr(importlib.import_module(f"pulumi_aws.{module}"), name)


def snake_case(key):
    return re.sub(r"(?<!^)([A-Z])", r"_\\1", key).lower()


for entry in entries:
    declared[entry["urn"]] = resource_class(entry["type"])(
        entry["name"],
        **{snake_case(key): revive(value) for key, value in entry["inputs"].items()},
        opts=pulumi.ResourceOptions(depends_on=[declared[urn] for urn in entry["depends_on"]]),
    )
""",
    "generic": '''\
"""Every custom resource of a recorded graph, registered as a bare pulumi.CustomResource."""

'''
    + BASELINE_COMMON
    + """
for entry in entries:
    declared[entry["urn"]] = pulumi.CustomResource(
        entry["type"],
        entry["name"],
        revive(entry["inputs"]),
        opts=pulumi.ResourceOptions(depends_on=[declared[urn] for urn in entry["depends_on"]]),
    )
""",
}


# --- generated projects ------------------------------------------------------------------------


def topology(consumers: int) -> dict[str, Any]:
    """`consumers` consumers over consumers/4 events, published by one producer per two events;
    half Lambda, half external; a third also subscribe to a second event; one subscription in
    four filtered."""
    event_count = max(1, consumers // 4)
    events: dict[str, Any] = {f"event-{e:04d}.happened": {} for e in range(event_count)}
    names = list(events)
    producers = {
        f"producer-{p:04d}": {"publishes": names[2 * p : 2 * p + 2]}
        for p in range((event_count + 1) // 2)
    }
    consumer_specs: dict[str, Any] = {}
    for c in range(consumers):
        subscribed = [names[c % event_count]]
        if c % 3 == 0 and event_count > 1:
            subscribed.append(names[(c + 1) % event_count])
        subscriptions: list[Any] = [
            {"event": event, "filter": {"tier": ["gold", "silver"]}}
            if (c + index) % 4 == 0
            else event
            for index, event in enumerate(subscribed)
        ]
        spec: dict[str, Any] = {"subscribes": subscriptions}
        if c % 2 == 0:
            spec["runtime"] = "lambda"
            spec["lambda"] = {"code": "functions/handler", "handler": "app.handler"}
        else:
            spec["runtime"] = "external"
        consumer_specs[f"consumer-{c:04d}"] = spec
    return {"events": events, "producers": producers, "consumers": consumer_specs}


def write_eventinfra_project(directory: Path, consumers: int) -> None:
    (directory / "stacks").mkdir(parents=True)
    (directory / "functions" / "handler").mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(REPOSITORY / name, directory / name)
    (directory / "stacks" / f"Pulumi.{STACK}.yaml").write_text(STACK_FILE)
    (directory / "functions" / "handler" / "app.py").write_text(HANDLER)
    (directory / "topology.yaml").write_text(json.dumps(topology(consumers), indent=1))


def write_baseline_project(directory: Path, variant: str, graph_file: Path) -> None:
    (directory / "stacks").mkdir(parents=True)
    (directory / "Pulumi.yaml").write_text(
        f"name: baseline-{variant.replace('_', '-')}\nruntime: python\nstackConfigDir: stacks\n"
    )
    (directory / "stacks" / f"Pulumi.{STACK}.yaml").write_text(BASELINE_STACK)
    (directory / "__main__.py").write_text(BASELINE_PROGRAMS[variant])
    shutil.copy(graph_file, directory / "graph.json")


# --- one measured run, in a fresh process ------------------------------------------------------


def flat_graph(resources: Sequence[Any]) -> list[dict[str, Any]]:
    """The managed custom resources in registration order, each with the custom resources it
    depends on (the edges `critical_path` follows: a component stands for its custom resources)."""
    by_urn = {resource.urn: resource for resource in resources}
    children: dict[str, list[str]] = {}
    for resource in resources:
        children.setdefault(resource.parent or "", []).append(resource.urn)

    def customs(urn: str) -> set[str]:
        if urn in by_urn and by_urn[urn].custom:
            return {urn}
        return set().union(*(customs(child) for child in children.get(urn, [])))

    graph = []
    for resource in resources:
        if not resource.custom or resource.external:
            continue
        direct = set(resource.dependencies).union(*resource.property_dependencies.values())
        depends_on = set().union(*(customs(urn) for urn in direct)) - {resource.urn}
        graph.append(
            {
                "urn": resource.urn,
                "type": resource.type,
                "name": resource.name,
                "inputs": resource.inputs,
                "depends_on": sorted(depends_on),
            }
        )
    return graph


def inputs_digest(resources: Sequence[Any]) -> str:
    """One hash of every managed custom resource's type, name and inputs."""
    declared = sorted([r.type, r.name, r.inputs] for r in resources if r.custom and not r.external)
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()


def measure(program_dir: Path, graph_out: Path | None) -> dict[str, Any]:
    """Synthesize the program once (the caller starts a fresh interpreter for this)."""
    import gc
    import importlib
    import resource
    import time

    for module in PRELOADED_MODULES:
        importlib.import_module(module)
    from eventinfra.check.synth import critical_path, synthesize

    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    synthesis = synthesize(program_dir, STACK)
    wall, cpu = time.perf_counter() - wall_started, time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    path = critical_path(synthesis.resources)
    path_seconds = time.perf_counter() - started
    if graph_out is not None:
        graph_out.write_text(json.dumps(flat_graph(synthesis.resources)))
    return {
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "rss_before_kib": rss_before,
        "peak_rss_kib": peak,
        "resources": len(synthesis.resources),
        "custom": sum(1 for r in synthesis.resources if r.custom and not r.external),
        "inputs_digest": inputs_digest(synthesis.resources),
        "critical_path": [f"{r.type.rsplit(':', 1)[-1]} {r.name}" for r in path],
        "critical_path_seconds": path_seconds,
    }


def measure_check(program_dir: Path) -> dict[str, Any]:
    """The whole `eventinfra check --format json` (full pack, every policy mandatory), in this
    process, timed as a whole and per phase; stdout is hashed, so a change of answer shows."""
    import contextlib
    import importlib
    import io
    import resource
    import time

    for module in PRELOADED_MODULES:
        importlib.import_module(module)
    from eventinfra.check import cli, policy_runner
    from eventinfra.check import synth as synth_package

    phases: dict[str, float] = {}

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def cpu_now() -> float:  # this process and its finished children (the pack processes)
        return time.process_time() + children_cpu()

    def timed(name: str, function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started, cpu_started = time.perf_counter(), cpu_now()
            try:
                return function(*args, **kwargs)
            finally:
                phases[name] = time.perf_counter() - started
                phases[f"{name}_cpu"] = cpu_now() - cpu_started

        return wrapper

    synth_package.synthesize = timed("synthesis", synth_package.synthesize)  # type: ignore[assignment]
    policy_runner.evaluate_policies = timed("policies", policy_runner.evaluate_policies)  # type: ignore[assignment]
    config = program_dir / "all-mandatory.json"
    config.write_text('{"all": "mandatory"}')
    argv = ["check", "--program", str(program_dir), "--stack", STACK, "--format", "json"]
    argv += ["--policy-pack", str(REPOSITORY / "policies"), "--policy-config", str(config)]
    output = io.StringIO()

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu_started, children_started = (
        time.perf_counter(),
        time.process_time(),
        children_cpu(),
    )
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(argv)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started + children_cpu() - children_started
    document = json.loads(output.getvalue())
    # Where the pack and its config were found is not an answer (and differs per temporary folder).
    answer = {**document, "policies": {**document["policies"], "path": None, "config": None}}
    return {
        "wall_seconds": wall,
        "cpu_seconds": cpu,  # this process and the pack processes
        "synthesis_seconds": phases["synthesis"],
        "policy_seconds": phases["policies"],
        "synthesis_cpu_seconds": phases["synthesis_cpu"],
        "policy_cpu_seconds": phases["policies_cpu"],
        "rss_before_kib": rss_before,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "pack_peak_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "exit_code": code,
        "violations": len(document["violations"]),
        "output_digest": hashlib.sha256(json.dumps(answer).encode()).hexdigest(),
        "verdicts_digest": hashlib.sha256(
            json.dumps(document["violations"], sort_keys=True).encode()
        ).hexdigest(),
    }


def run_worker(
    program_dir: Path, graph_out: Path | None = None, *, check: bool = False
) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", str(program_dir)]
    if graph_out is not None:
        command += ["--graph-out", str(graph_out)]
    if check:
        command.append("--check")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"The run of {program_dir} failed:\n{result.stderr}")
    measured: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


# --- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    consumers: int
    events: int
    runs: dict[str, list[dict[str, Any]]]

    def median(self, variant: str, key: str) -> float:
        return float(statistics.median(run[key] for run in self.runs[variant]))

    def peak_mib(self, variant: str) -> float:
        return self.median(variant, "peak_rss_kib") / 1024

    def program_mib(self, variant: str) -> float:
        """Peak memory above what the process held before `synthesize()`."""
        return float(
            statistics.median(
                (run["peak_rss_kib"] - run["rss_before_kib"]) / 1024 for run in self.runs[variant]
            )
        )

    def ratio(self, key: str, baseline: str = BASELINE) -> float:
        return self.median("eventinfra", key) / self.median(baseline, key)


def machine() -> str:
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    with open("/proc/loadavg", encoding="utf-8") as loadavg:
        load = loadavg.read().split()[0]
    return (
        f"{model}, `nproc` {cores}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; load average {load} at the end of the run"
    )


def report(sizes: list[Size]) -> str:
    lines = [
        f"Machine: {machine()}.",
        "Medians over the runs of each variant (column `runs`), each run in a fresh process.",
        "",
        "| consumers | events | resources (custom) | runs | eventinfra wall / CPU s "
        "| pulumi_aws wall / CPU s | generic wall / CPU s | ratio vs pulumi_aws wall / CPU "
        "| ratio vs generic CPU |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        first = size.runs["eventinfra"][0]
        cells = [
            f"{size.median(v, 'wall_seconds'):.2f} / {size.median(v, 'cpu_seconds'):.2f}"
            for v in VARIANTS
        ]
        lines.append(
            f"| {size.consumers:,} | {size.events:,} | {first['resources']:,} "
            f"({first['custom']:,}) | {len(size.runs['eventinfra'])} | {' | '.join(cells)} "
            f"| {size.ratio('wall_seconds'):.2f} / {size.ratio('cpu_seconds'):.2f} "
            f"| {size.ratio('cpu_seconds', 'generic'):.2f} |"
        )
    lines += [
        "",
        "| consumers | eventinfra peak MiB | pulumi_aws peak MiB | generic peak MiB "
        "| memory ratio vs pulumi_aws | eventinfra MiB above start | KiB per consumer "
        "| critical path (all variants) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        paths = {len(run["critical_path"]) for v in VARIANTS for run in size.runs[v]}
        program = size.program_mib("eventinfra")
        lines.append(
            f"| {size.consumers:,} | {size.peak_mib('eventinfra'):.0f} "
            f"| {size.peak_mib('pulumi_aws'):.0f} | {size.peak_mib('generic'):.0f} "
            f"| {size.peak_mib('eventinfra') / size.peak_mib('pulumi_aws'):.2f} "
            f"| {program:.0f} | {program * 1024 / size.consumers:.0f} "
            f"| {', '.join(map(str, sorted(paths)))} |"
        )
    lines.append("")
    lines += verdicts(sizes)
    lines += ["", *check_report(sizes)]
    return "\n".join(lines)


def check_report(sizes: list[Size]) -> list[str]:
    """The whole `eventinfra check` against the generic floor (issue 13's three ratios)."""
    lines = [
        "| consumers | check s (synthesis + policies + rest) | generic floor s | check / floor "
        "| check / floor CPU | check peak MiB (pack process) | floor peak MiB | memory ratio "
        "| violations |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        check = size.median(CHECK, "wall_seconds")
        synthesis = size.median(CHECK, "synthesis_seconds")
        policies = size.median(CHECK, "policy_seconds")
        floor = size.median(FLOOR, "wall_seconds")
        peak, floor_peak = size.peak_mib(CHECK), size.peak_mib(FLOOR)
        pack = size.median(CHECK, "pack_peak_rss_kib") / 1024
        lines.append(
            f"| {size.consumers:,} | {check:.2f} ({synthesis:.2f} + {policies:.2f} + "
            f"{check - synthesis - policies:.2f}) | {floor:.2f} | {check / floor:.2f} "
            f"| {size.median(CHECK, 'cpu_seconds') / size.median(FLOOR, 'cpu_seconds'):.2f} "
            f"| {peak:.0f} ({pack:.0f}) | {floor_peak:.0f} | {peak / floor_peak:.2f} "
            f"| {size.runs[CHECK][0]['violations']} |"
        )
    lines.append("")
    for size in sizes:
        if size.consumers in (100, TARGET_SIZE):
            ratio = size.median(CHECK, "wall_seconds") / size.median(FLOOR, "wall_seconds")
            cpu = size.median(CHECK, "cpu_seconds") / size.median(FLOOR, "cpu_seconds")
            met = "met" if ratio <= CHECK_RATIO_TARGET else "MISSED"
            lines.append(
                f"- Whole check vs the generic floor at {size.consumers:,} consumers: wall "
                f"{ratio:.2f} (target ≤ {CHECK_RATIO_TARGET:g}): {met}; CPU {cpu:.2f}."
            )
    small = next((size for size in sizes if size.consumers == 100), None)
    large = next((size for size in sizes if size.consumers == TARGET_SIZE), None)
    if small is not None and large is not None:
        for label, key in (("synthesis", "synthesis"), ("policy evaluation", "policy")):
            growth = large.median(CHECK, f"{key}_seconds") / small.median(CHECK, f"{key}_seconds")
            cpu = large.median(CHECK, f"{key}_cpu_seconds") / small.median(
                CHECK, f"{key}_cpu_seconds"
            )
            met = "met" if max(growth, cpu) <= GROWTH_TARGET else "MISSED"
            lines.append(
                f"- Growth 100 → {TARGET_SIZE:,} consumers, {label}: wall {growth:.1f}x, CPU "
                f"{cpu:.1f}x (target ≤ {GROWTH_TARGET:g}x): {met}."
            )
        floor_growth = large.median(FLOOR, "wall_seconds") / small.median(FLOOR, "wall_seconds")
        floor_cpu = large.median(FLOOR, "cpu_seconds") / small.median(FLOOR, "cpu_seconds")
        lines.append(
            f"- Growth 100 → {TARGET_SIZE:,} consumers, generic floor: wall {floor_growth:.1f}x, "
            f"CPU {floor_cpu:.1f}x."
        )
        memory = large.peak_mib(CHECK) / large.peak_mib(FLOOR)
        met = "met" if memory <= CHECK_MEMORY_RATIO_TARGET else "MISSED"
        lines.append(
            f"- Peak memory of the check vs the floor at {TARGET_SIZE:,} consumers: {memory:.2f} "
            f"(target ≤ {CHECK_MEMORY_RATIO_TARGET:g}): {met}."
        )
    for size in sizes:
        digests = sorted({run["output_digest"][:16] for run in size.runs[CHECK]})
        lines.append(
            f"- Check output at {size.consumers:,} consumers (resources and verdicts, JSON, "
            f"without the pack's and config's paths), sha256: {', '.join(digests)}."
        )
    return lines


def verdicts(sizes: list[Size]) -> list[str]:
    lengths = {
        len(run["critical_path"]) for size in sizes for v in VARIANTS for run in size.runs[v]
    }
    chain = " → ".join(sizes[-1].runs["eventinfra"][0]["critical_path"])
    out = [
        f"- Critical path constant across sizes and variants: "
        f"{'yes' if len(lengths) == 1 else 'NO'} ({', '.join(map(str, sorted(lengths)))} "
        f"resources; at {sizes[-1].consumers:,} consumers: {chain}).",
    ]
    target = next((size for size in sizes if size.consumers == TARGET_SIZE), None)
    if target is not None:
        wall, cpu = target.ratio("wall_seconds"), target.ratio("cpu_seconds")
        met = "met" if max(wall, cpu) <= TIME_RATIO_TARGET else "MISSED"
        out.append(
            f"- Time ratio vs {BASELINE} at {TARGET_SIZE:,} consumers: wall {wall:.2f}, CPU "
            f"{cpu:.2f} (target ≤ {TIME_RATIO_TARGET}): {met}."
        )
    for smaller, larger in itertools.pairwise(sizes):
        added = larger.consumers - smaller.consumers
        memory = (larger.program_mib("eventinfra") - smaller.program_mib("eventinfra")) / added
        cpu = (
            larger.median("eventinfra", "cpu_seconds") - smaller.median("eventinfra", "cpu_seconds")
        ) / added
        base_cpu = (
            larger.median(BASELINE, "cpu_seconds") - smaller.median(BASELINE, "cpu_seconds")
        ) / added
        out.append(
            f"- {smaller.consumers:,} → {larger.consumers:,} consumers, per added consumer: "
            f"{memory * 1024:.0f} KiB; CPU {cpu * 1000:.0f} ms (eventinfra) vs "
            f"{base_cpu * 1000:.0f} ms ({BASELINE})."
        )
    slowest = max(run["critical_path_seconds"] for run in sizes[-1].runs["eventinfra"])
    out.append(f"- `critical_path()` itself at {sizes[-1].consumers:,} consumers: {slowest:.2f} s.")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeats", type=int, default=3, help="runs per variant and size")
    parser.add_argument(
        "--large-repeats", type=int, default=1, help=f"runs from {LARGE_SIZE:,} consumers on"
    )
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--graph-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        measured = (
            measure_check(args.worker) if args.check else measure(args.worker, args.graph_out)
        )
        print(json.dumps(measured))
        return 0

    sizes = []
    with tempfile.TemporaryDirectory(prefix="eventinfra-bench-") as scratch:
        for consumers in args.sizes:
            programs = {variant: Path(scratch) / f"{variant}-{consumers}" for variant in VARIANTS}
            write_eventinfra_project(programs["eventinfra"], consumers)
            graph_file = Path(scratch) / f"graph-{consumers}.json"
            runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in (*VARIANTS, CHECK)}
            runs["eventinfra"].append(run_worker(programs["eventinfra"], graph_file))
            for variant in VARIANTS[1:]:
                write_baseline_project(programs[variant], variant, graph_file)
            # Interleaved, so that load from elsewhere on the machine hits every variant alike.
            repeats = args.repeats if consumers < LARGE_SIZE else args.large_repeats
            for repeat in range(repeats):
                for variant in VARIANTS:
                    if not (variant == "eventinfra" and repeat == 0):
                        runs[variant].append(run_worker(programs[variant]))
                runs[CHECK].append(run_worker(programs["eventinfra"], check=True))
            for variant in VARIANTS[1:]:
                if runs[variant][0]["inputs_digest"] != runs["eventinfra"][0]["inputs_digest"]:
                    raise SystemExit(
                        f"The {variant} baseline for {consumers} consumers does not declare "
                        "the same resources with the same inputs as eventinfra."
                    )
            size = Size(consumers, len(topology(consumers)["events"]), runs)
            sizes.append(size)
            print(
                f"{consumers:>5} consumers: "
                + ", ".join(
                    f"{v} {size.median(v, 'wall_seconds'):.1f} s wall "
                    f"{size.median(v, 'cpu_seconds'):.1f} s CPU"
                    for v in VARIANTS
                ),
                file=sys.stderr,
                flush=True,
            )
    print(report(sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
