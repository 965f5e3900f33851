"""Layering: check/ needs no backend, kubernetes/ no Kafka or AWS part; one error family; no sys.path."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import eventinfra
from eventinfra import errors

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "components" / "eventinfra"
CHECK = PACKAGE / "check"

# What the offline engine may build on: itself and the shared, backend-free parts.
CHECK_MAY_IMPORT = (
    "eventinfra.check",
    "eventinfra.config",
    "eventinfra.errors",
    "eventinfra.graph",
    "eventinfra.keypaths",
    "eventinfra.yaml_errors",
    # The entry point registers the ops commands; eventinfra.ops imports no component backend.
    "eventinfra.ops.cli",
)

KUBERNETES = PACKAGE / "kubernetes"

# What the Kubernetes backends share depends on neither of them but RabbitMQ's workloads (the
# container consumer and the idempotency store, which both backends run), and on no AWS part.
KUBERNETES_MUST_NOT_IMPORT = ("eventinfra.kafka", "eventinfra.aws")

# Each entry says why the module must put a folder on sys.path; anything else must not.
SYS_PATH_EXCEPTIONS = {
    # The program runner does for the user's program what Pulumi's Python language host does:
    # the program's folder goes first on sys.path so `import helpers` finds its own modules, and
    # the runner restores sys.path (and forgets those modules) when the run ends.
    "components/eventinfra/check/synth/run.py",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, importer: str, is_package: bool) -> set[str]:
    """Every module an import statement names, relative imports resolved, anywhere in `source`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = importer.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from eventinfra import aws` imports the submodule; `from x.y import name` needs x.y.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def backend_imports(path: Path) -> set[str]:
    imported = imported_modules(
        path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
    )
    return {
        name
        for name in imported
        if (name == "eventinfra" or name.startswith("eventinfra."))
        and not any(
            name == allowed or name.startswith(allowed + ".") for allowed in CHECK_MAY_IMPORT
        )
    }


def test_the_import_finder_sees_backend_imports_in_every_form() -> None:
    source = (
        "import eventinfra.aws.defaults\n"
        "from eventinfra.rabbitmq import naming\n"
        "from eventinfra import EventPlatform, errors\n"
        "def later():\n"
        "    from ..aws import queue\n"
    )

    found = imported_modules(source, "eventinfra.check.cli", is_package=False)

    assert found == {
        "eventinfra.aws.defaults",
        "eventinfra.rabbitmq.naming",
        "eventinfra.EventPlatform",
        "eventinfra.errors",
        "eventinfra.aws.queue",
    }


def test_check_imports_nothing_from_a_backend() -> None:
    modules = sorted(CHECK.rglob("*.py"))
    offending = {
        str(path.relative_to(ROOT)): sorted(names)
        for path in modules
        if (names := backend_imports(path))
    }

    assert {path.relative_to(CHECK).as_posix() for path in modules} >= {"cli.py", "synth/run.py"}
    assert offending == {}


def test_the_shared_kubernetes_parts_import_no_kafka_or_aws_module() -> None:
    modules = sorted(KUBERNETES.rglob("*.py"))
    offending = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in imported_modules(
                path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py"
            )
            if any(
                name == banned or name.startswith(banned + ".")
                for banned in KUBERNETES_MUST_NOT_IMPORT
            )
        )
        for path in modules
    }

    assert {path.relative_to(KUBERNETES).as_posix() for path in modules} >= {"platform.py"}
    assert {path: names for path, names in offending.items() if names} == {}


def all_eventinfra_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(eventinfra.__path__, "eventinfra.")
        if not info.name.endswith("__main__")  # running it would start the CLI
    ]
    for name in names:
        importlib.import_module(name)
    return names


def test_every_user_error_is_defined_in_errors_py() -> None:
    assert "eventinfra.check.synth.recorder" in all_eventinfra_modules()
    family: list[type] = []
    pending: list[type] = [errors.EventInfraError]
    while pending:
        cls = pending.pop()
        family.append(cls)
        pending.extend(cls.__subclasses__())

    defined_elsewhere = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in family
        if cls.__module__.startswith("eventinfra") and cls.__module__ != "eventinfra.errors"
    )

    assert defined_elsewhere == []


def test_the_error_family_tree() -> None:
    parents = {
        name: cls.__bases__
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, errors.EventInfraError)
    }

    assert parents == {
        "EventInfraError": (ValueError,),
        "ConfigError": (errors.EventInfraError,),
        "PlanError": (errors.EventInfraError,),
        "MockValuesError": (errors.PlanError,),
        "UnknownStackError": (errors.PlanError,),
        "ProjectFileError": (errors.PlanError,),
        "ProgramError": (errors.PlanError,),
        "PackageError": (errors.EventInfraError,),
        "PolicyError": (errors.EventInfraError,),
        "PolicyConfigError": (errors.PolicyError,),
        "PolicyPackError": (errors.PolicyError,),
    }


def touches_sys_path(source: str) -> bool:
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "path"
            and isinstance(node.value, ast.Name)
            and node.value.id == "sys"
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "sys"
            and any(alias.name == "path" for alias in node.names)
        ):
            return True
    return False


def test_no_module_edits_sys_path_except_the_documented_ones() -> None:
    sources = [*(ROOT / "components").rglob("*.py"), *(ROOT / "policies").rglob("*.py")]
    touching = {
        path.relative_to(ROOT).as_posix()
        for path in sources
        if touches_sys_path(path.read_text(encoding="utf-8"))
    }

    assert touching == SYS_PATH_EXCEPTIONS
    assert not touches_sys_path("import sys\nprint(sys.version)\n")
    assert touches_sys_path("from sys import path\npath.append('x')\n")
