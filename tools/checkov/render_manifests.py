"""Write the Kubernetes objects a stack's plan records as YAML manifests, one file per object."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from eventinfra.check.synth import synthesize
from tests.support.k8s_validation import manifest_from_recorded

REPOSITORY = Path(__file__).resolve().parents[2]


def render(stack: str, out: Path, program: Path = REPOSITORY) -> list[Path]:
    """The planned objects of `stack` (no operators' manifests: those are the vendors')."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for resource in synthesize(program, stack).resources:
        if not (resource.custom and resource.type.startswith("kubernetes:")):
            continue
        manifest = manifest_from_recorded(resource.type, resource.inputs, auto_name=resource.name)
        path = out / f"{manifest['kind'].lower()}-{resource.name}.yaml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="k8s")
    parser.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    written = render(args.stack, args.out)
    print(f"wrote {len(written)} manifests to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
