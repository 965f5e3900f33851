"""The Lambda deployment package: code, pinned dependencies and event schemas, cached by hash."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from eventinfra.errors import PackageError

__all__ = [
    "BUILD_DIR_VARIABLE",
    "SCHEMAS_FOLDER",
    "PackageError",
    "build_package",
]

REQUIREMENTS_FILE: Final = "requirements.txt"
SCHEMAS_FOLDER: Final = "eventinfra_schemas"
"""Where the schemas go in the archive; Lambda unpacks it at /var/task (LAMBDA_TASK_ROOT)."""
BUILD_DIR_VARIABLE: Final = "EVENTINFRA_BUILD_DIR"
"""Overrides the cache folder (default `.eventinfra/build` in the project folder)."""
DEFAULT_BUILD_DIR: Final = Path(".eventinfra") / "build"
# Part of every cache key: a change to how packages are laid out must not reuse old archives.
LAYOUT_VERSION: Final = "1"
# The Lambda x86_64 Python runtimes run on Amazon Linux 2023 (glibc 2.34): manylinux2014 wheels
# (glibc 2.17) load there, and every dependency eventinfra-runtime needs publishes them.
PLATFORMS: Final = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
# A fixed timestamp (the earliest a zip can hold) keeps the archive byte-identical per content.
ZIP_EPOCH: Final = (1980, 1, 1, 0, 0, 0)
_PINNED: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,.-]+\])?==[^=\s;]+$")
_LOCAL: Final = re.compile(r"^(?P<path>\.{1,2}/[^\[\s]*)(?P<extras>\[[A-Za-z0-9_,.-]+\])?$")
_CACHES: Final = frozenset({"__pycache__"})
# A local project's own build output and tests are not part of what it installs.
_PROJECT_ONLY: Final = frozenset({"__pycache__", "build", "dist", "tests"})


@dataclass(frozen=True)
class _Requirements:
    pinned: tuple[str, ...]
    local: tuple[tuple[Path, str], ...]  # (project folder, "[extras]")


def build_package(
    code_dir: Path,
    *,
    runtime: str,
    architecture: str = "x86_64",
    schemas: Mapping[str, Path | None] | None = None,
    build_dir: Path | None = None,
) -> Path:
    """The zip `pulumi up` uploads for a function: the files of `code_dir`, the dependencies
    its `requirements.txt` pins (platform wheels for `runtime` and `architecture`; a line like
    `../../runtime[aws]` names a local project, built into a wheel) and each event's schema as
    `eventinfra_schemas/<event>.json`. Built once per content hash: an unchanged function gives
    the same path and bytes, so a plan uploads nothing new.
    """
    schemas = schemas or {}
    requirements_file = code_dir / REQUIREMENTS_FILE
    python = runtime.startswith("python")
    requirements = (
        _parse_requirements(requirements_file)
        if python and requirements_file.is_file()
        else _Requirements((), ())
    )
    digest = hashlib.sha256()
    for part in (LAYOUT_VERSION, runtime, architecture):
        digest.update(f"{part}\0".encode())
    for name, path in _tree(code_dir):
        digest.update(f"code/{name}\0".encode() + path.read_bytes() + b"\0")
    for project, extras in requirements.local:
        for name, path in _tree(project, _PROJECT_ONLY):
            digest.update(f"local/{project.name}{extras}/{name}\0".encode() + path.read_bytes())
    for event, schema in sorted(schemas.items()):
        content = schema.read_bytes() if schema is not None else b"{}"
        digest.update(f"schema/{event}\0".encode() + content + b"\0")

    folder = build_dir or Path(os.environ.get(BUILD_DIR_VARIABLE) or DEFAULT_BUILD_DIR)
    archive = folder / f"{digest.hexdigest()[:32]}.zip"
    if archive.is_file():
        return archive
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="eventinfra-package-") as scratch:
        staging = Path(scratch) / "package"
        staging.mkdir()
        if requirements.pinned or requirements.local:
            _install(requirements, staging, Path(scratch), runtime, architecture, code_dir)
        for name, path in _tree(code_dir):
            if name != REQUIREMENTS_FILE:
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, staging / name)
        if schemas:
            (staging / SCHEMAS_FOLDER).mkdir(exist_ok=True)
            for event, schema in schemas.items():
                # An event without a schema in the topology accepts any payload.
                content = schema.read_bytes() if schema is not None else b"{}\n"
                (staging / SCHEMAS_FOLDER / f"{event}.json").write_bytes(content)
        handle, partial = tempfile.mkstemp(dir=folder, suffix=".partial")
        os.close(handle)
        _zip(staging, Path(partial))
        # Parallel programs may build the same package: the rename makes one of them win whole.
        os.replace(partial, archive)
    return archive


def _parse_requirements(file: Path) -> _Requirements:
    pinned: list[str] = []
    local: list[tuple[Path, str]] = []
    problems: list[str] = []
    for number, raw in enumerate(file.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if match := _LOCAL.match(line):
            project = (file.parent / match["path"]).resolve()
            if not (project / "pyproject.toml").is_file():
                problems.append(
                    f"{file}:{number}: expected a local project folder with a pyproject.toml, "
                    f"found {line!r} ({project} has none)."
                )
            local.append((project, match["extras"] or ""))
        elif _PINNED.match(line):
            pinned.append(line)
        else:
            problems.append(
                f"{file}:{number}: expected a pinned requirement like 'boto3==1.44.8' or a "
                f"local project like '../../runtime[aws]', found {line!r}: the deployment "
                "package must be reproducible."
            )
    if problems:
        raise PackageError("\n".join(problems))
    return _Requirements(tuple(pinned), tuple(local))


_NOT_SOURCES: Final = shutil.ignore_patterns(
    "build", "dist", "*.egg-info", ".venv*", "__pycache__", ".*_cache", "tests"
)


def _install(
    requirements: _Requirements,
    target: Path,
    scratch: Path,
    runtime: str,
    architecture: str,
    code_dir: Path,
) -> None:
    lines = list(requirements.pinned)
    wheels = scratch / "wheels"
    for project, extras in requirements.local:
        # Built from a copy: setuptools writes build/ into the source folder, and two plans
        # building at once (parallel checks, CI workers) would collide there.
        source = scratch / "sources" / project.name
        shutil.copytree(project, source, ignore=_NOT_SOURCES)
        _pip(["wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels), str(source)], code_dir)
        (wheel,) = sorted(wheels.glob(f"{_wheel_prefix(project)}-*.whl"))
        name = wheel.name.split("-")[0].replace("_", "-")
        lines.append(f"{name}{extras} @ {wheel.as_uri()}")
    resolved = scratch / REQUIREMENTS_FILE
    resolved.write_text("\n".join(lines) + "\n")
    if architecture not in PLATFORMS:
        raise PackageError(
            f"The function in {code_dir} must run on one of {sorted(PLATFORMS)!r}, "
            f"not {architecture!r}."
        )
    _pip(
        [
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",  # bytecode holds timestamps; Lambda compiles at cold start
            "--only-binary=:all:",
            "--platform",
            PLATFORMS[architecture],
            "--implementation",
            "cp",
            "--python-version",
            runtime.removeprefix("python"),
            "--target",
            str(target),
            "--requirement",
            str(resolved),
        ],
        code_dir,
    )
    # Console scripts name the build interpreter, and direct_url.json the scratch folder:
    # neither is needed at run time, and both would make the bytes differ per build.
    shutil.rmtree(target / "bin", ignore_errors=True)
    for direct_url in target.glob("*.dist-info/direct_url.json"):
        direct_url.unlink()
        record = direct_url.with_name("RECORD")
        kept = [line for line in record.read_text().splitlines(keepends=True)
                if not line.startswith(f"{direct_url.parent.name}/direct_url.json,")]  # fmt: skip
        record.write_text("".join(kept))


def _wheel_prefix(project: Path) -> str:
    text = (project / "pyproject.toml").read_text()
    match = re.search(r'^name\s*=\s*"([^"]+)"', text, re.MULTILINE)
    name = match[1] if match else project.name
    return re.sub(r"[-_.]+", "_", name).lower()


def _pip(arguments: list[str], code_dir: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pip", *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise PackageError(
            f"The deployment package of the function in {code_dir} cannot be built: "
            f"`pip {arguments[0]}` failed with exit code {completed.returncode}:\n"
            f"{completed.stderr.strip()[-2000:]}"
        )


def _tree(folder: Path, skipped: frozenset[str] = _CACHES) -> Iterator[tuple[str, Path]]:
    """Every file below `folder` by its `/` path, sorted; `skipped` and hidden parts left out.

    Left-out folders are never entered: a local project's `.venv` holds thousands of files
    (hashed for every plan), and its `build/` comes and goes while setuptools runs, which made
    a walk that entered it fail on a folder deleted under it.
    """

    def kept(name: str) -> bool:
        return not (name.startswith(".") or name in skipped or name.endswith(".egg-info"))

    files = []
    for directory, folders, names in os.walk(folder):
        folders[:] = [name for name in folders if kept(name)]
        for name in filter(kept, names):
            path = Path(directory, name)
            if path.is_file():
                files.append((path.relative_to(folder).as_posix(), path))
    yield from sorted(files)


def _zip(folder: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, path in _tree(folder):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            executable = os.access(path, os.X_OK)
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, path.read_bytes())
