"""Run a Pulumi program, or a function, as the Python language host would, under the recorder."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import runpy
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final, TypeVar

from pulumi.runtime import config as pulumi_config
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.settings import SETTINGS as PULUMI_SETTINGS
from pulumi.runtime.stack import run_in_stack

from eventinfra.check.mock_values import CloudEnvironment, MockValues, load_mock_values
from eventinfra.check.synth.project import (
    _read_project,
    _stack_config_values,
    stack_config_key_location,
)
from eventinfra.check.synth.recorder import _RecordingEngine, _RecordingMonitor
from eventinfra.check.synth.result import Diagnostic, Synthesis
from eventinfra.errors import MockValuesError, ProgramError

DEFAULT_ORGANIZATION: Final = "organization"  # what the Python host reports for DIY backends
REGION_KEY: Final = "aws:region"

_T = TypeVar("_T")


@dataclass(frozen=True)
class _RunSettings:
    project: str
    stack: str
    config: Mapping[str, str]
    secret_keys: Sequence[str]
    environment: CloudEnvironment
    root_directory: str
    progress: Callable[[int], None] | None = None


class _InlineExecutor(ThreadPoolExecutor):
    """Runs the SDK's monitor calls at once, on the event loop's thread.

    The SDK sends every RPC through `loop.run_in_executor`; with worker threads, the order in
    which answers come back (and so the order of later registrations) varies from run to run.
    The recording monitor never waits on the loop, so calling it inline is safe, and makes two
    runs of one program record the same graph in the same order. No thread is ever started.
    """

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        future: Future[_T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # handed to the awaiting coroutine, as a worker would
            future.set_exception(error)
        return future


# The SDK keeps every Output, future and task alive until the program ends, so each cyclic
# collection walks all of them: with the default thresholds two thirds of a large run's CPU went
# to collections that freed nothing (benchmarks/RESULTS.md). Collect far less often instead.
GC_THRESHOLDS_DURING_RUN: Final = (10_000, 50, 1_000)


@contextlib.contextmanager
def _rare_garbage_collection() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS_DURING_RUN)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


async def _drain_pending_outputs() -> None:
    """Wait for every pending Output, one `asyncio.wait` per wave, before the SDK's own wait.

    The SDK's end-of-program loop (`wait_for_rpcs`) waits for the FIRST of all pending Outputs to
    complete, then again for all the others: quadratic in the number of Outputs, 40 % of a large
    run's CPU (benchmarks/RESULTS.md). Waiting for all of them at once, wave after wave (an Output
    created while waiting joins the next wave), ends in the same state: successful Outputs remove
    themselves from the SDK's set, failed ones stay in it, and the SDK's loop, which runs next,
    re-raises their exceptions as it always did.
    """
    while True:
        with PULUMI_SETTINGS.lock:
            pending = [output for output in PULUMI_SETTINGS.outputs if not output.done()]
        if not pending:
            return
        await asyncio.wait(pending)


def _then_drain(program: Callable[[], object]) -> Callable[[], Coroutine[Any, Any, None]]:
    async def program_then_drain() -> None:
        program()
        await _drain_pending_outputs()

    return program_then_drain


def _in_fresh_thread(work: Callable[[], _T]) -> _T:
    """Run `work` on a new thread: its own event loop and its own (empty) contextvars.

    Pulumi keeps its runtime state (settings, config, root stack) in contextvars and uses the
    thread's event loop; a new thread starts with neither, so runs cannot leak into each other
    or into the caller's own Pulumi mocks.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, name="eventinfra-synth", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        error = outcome.pop("error")
        try:
            raise error
        finally:
            # The error's traceback holds this frame, whose `outcome` and `error` would hold
            # the error: a cycle that keeps the failed run's coroutines alive until some later
            # garbage collection warns about them in whatever runs then.
            del error
    result: _T = outcome["result"]
    return result


_DUPLICATE_FAILURE_MESSAGES: Final = frozenset(
    {"Task exception was never retrieved", "Future exception was never retrieved"}
)


def _quiet_exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # When a program fails, the SDK leaves sibling tasks holding the same exception; the first one
    # is reported to the caller, the copies would only be logged as "never retrieved".
    if context.get("message") in _DUPLICATE_FAILURE_MESSAGES:
        return
    loop.default_exception_handler(context)


@contextlib.contextmanager
def _warnings_as_diagnostics(diagnostics: list[Diagnostic]) -> Iterator[None]:
    """Warnings filtered as plain `python __main__.py` (and so `pulumi up`) would, kept as
    diagnostics: a caller's warnings-as-errors setting must not fail the user's program."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):
            warnings.filterwarnings("ignore", category=category)
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        _ignore_unawaited_coroutines()
        yield
    diagnostics.extend(
        Diagnostic(
            "warning",
            f"{item.filename}:{item.lineno}: {item.category.__name__}: {item.message}",
        )
        for item in caught
    )


@contextlib.contextmanager
def _callers_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        _ignore_unawaited_coroutines()
        yield


def _ignore_unawaited_coroutines() -> None:
    # A failed program leaves coroutines of the SDK's own that were never scheduled; collecting
    # them warns, which says nothing about the program.
    warnings.filterwarnings(
        "ignore", message="coroutine .* was never awaited", category=RuntimeWarning
    )


def _release_sdk_state() -> None:
    """Empty the SDK's per-run sets on the run's own thread, before it ends.

    The SDK's context properties (`pulumi._utils.ContextProperty.fset`) make the first value a
    new context sets the process-wide default as well, so this run's `outputs` set and RPC
    manager outlive its thread until the next run sets new ones. A failed run leaves its failed
    Outputs in that set (the SDK keeps them "to pick up at program exit"), and with them
    coroutines it never awaited; let go of during some later run or test, they warned "coroutine
    ... was never awaited" in whatever garbage collection came next, which filterwarnings =
    error turns into a failure of an unrelated test.
    """
    with PULUMI_SETTINGS.lock:
        PULUMI_SETTINGS.outputs.clear()
    PULUMI_SETTINGS.rpc_manager.clear()


def _without_tracebacks(error: BaseException) -> BaseException:
    """`error`, and the exceptions chained to it, without their tracebacks.

    A failed run's tracebacks hold its frames, and through them its failed tasks and the
    coroutines the SDK created and never awaited (a stack reference's `get_output` builds its
    Output from `future()` coroutines). Kept alive by the error reported, they were collected
    after the run, outside its warning filters, and the CLI printed "coroutine 'Output.future'
    was never awaited" under its error message.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None
        pending += [current.__cause__, current.__context__]
    return error


def _run(
    program: Callable[[], object],
    run: _RunSettings,
    *,
    isolate_warnings: bool,
    report: Callable[[BaseException], BaseException] | None = None,
) -> Synthesis:
    """Run `program` under the recorder. A failure propagates unchanged, or as `report` makes
    it: what `report` returns is raised without tracebacks, after the run's frames are collected.
    """
    monitor = _RecordingMonitor(run.project, run.stack, run.environment, run.progress)
    engine = _RecordingEngine()
    warning_diagnostics: list[Diagnostic] = []

    def work() -> None:
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(_quiet_exception_handler)
        loop.set_default_executor(_InlineExecutor())
        asyncio.set_event_loop(loop)
        try:
            # Constructing Settings sets the (context-local) runtime state for this thread.
            pulumi_settings.configure(
                pulumi_settings.Settings(
                    project=run.project,
                    stack=run.stack,
                    monitor=monitor,
                    engine=engine,
                    dry_run=False,
                    organization=DEFAULT_ORGANIZATION,
                    root_directory=run.root_directory,
                )
            )
            pulumi_settings.ROOT.set(None)
            pulumi_config.set_all_config(dict(run.config), list(run.secret_keys))
            loop.run_until_complete(run_in_stack(_then_drain(program)))
        finally:
            # As Pulumi's own automation host does: a failed program leaves tasks pending.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            for task in pending:
                with suppress(asyncio.CancelledError, Exception):
                    loop.run_until_complete(task)
            loop.run_until_complete(loop.shutdown_default_executor())
            asyncio.set_event_loop(None)
            loop.close()
            _release_sdk_state()

    filters = (
        _warnings_as_diagnostics(warning_diagnostics) if isolate_warnings else _callers_warnings()
    )
    with filters, _rare_garbage_collection():
        failure = None
        try:
            _in_fresh_thread(work)
        except BaseException as raised:
            if report is None:
                gc.collect()  # so the abandoned coroutines are collected under these filters
                raise
            failure = _without_tracebacks(report(raised))
        if failure is not None:
            # Nothing holds the run's frames any more: its coroutines are collected here, under
            # these filters, not in whatever runs next.
            gc.collect()
            raise failure
    return Synthesis(
        project=run.project,
        stack=run.stack,
        resources=[record.freeze() for record in monitor.records.values()],
        outputs=monitor.stack_outputs,
        secret_outputs=monitor.stack_secret_outputs,
        stack_urn=monitor.stack_urn,
        environment=run.environment,
        diagnostics=(*engine.diagnostics, *warning_diagnostics),
    )


def _within(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _is_program_module(module: ModuleType | None, name: str, roots: Sequence[Path]) -> bool:
    """Was this module imported from the program's own folders (not from an installed package)?"""
    location = getattr(module, "__file__", None)
    if not location:
        return False
    path = Path(location).resolve()
    top = name.split(".", 1)[0]
    return any(path == root / f"{top}.py" or _within(path, root / top) for root in roots)


@contextlib.contextmanager
def _program_process(directory: Path, import_roots: Sequence[Path]) -> Iterator[None]:
    """cwd and sys.path as the Pulumi Python host sets them; restored, and the program's own
    modules forgotten, afterwards so the next run imports (and so declares) them afresh."""
    saved_cwd = os.getcwd()
    saved_path = list(sys.path)
    saved_modules = set(sys.modules)
    os.chdir(directory)
    sys.path[:0] = [str(root) for root in import_roots]
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        for name in set(sys.modules) - saved_modules:
            if _is_program_module(sys.modules.get(name), name, import_roots):
                del sys.modules[name]


def _display_path(path: Path, base: Path) -> str:
    return str(path.relative_to(base)) if _within(path, base) else str(path)


def _exception_type_name(error: BaseException) -> str:
    kind = type(error)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


# All of eventinfra: its frames sit between the program and the monitor, and a failure inside
# its components (the loader, a component's validation) is reported at the program's line that
# called it, never at eventinfra's own source, even when the program folder holds eventinfra.
_OWN_CODE: Final = (Path(__file__).resolve().parents[2],)  # components/eventinfra


def _not_program_code(path: Path) -> bool:
    # Installed packages, and eventinfra itself when the program folder contains it.
    return (
        "site-packages" in path.parts
        or "dist-packages" in path.parts
        or any(_within(path, own) for own in _OWN_CODE)
    )


_PULUMI_SDK: Final = Path(pulumi_settings.__file__).resolve().parent.parent


def _wrapped_by_sdk(error: BaseException) -> BaseException | None:
    """The exception the SDK's `error` was raised for, or None.

    `resource.py`'s `do_register` raises "While processing resource: …" `from` the input's
    failure, inside the `except` that caught it. `stack.py`'s `wait_for_rpcs` then re-raises
    each failed RPC as `raise exn from cause`, `cause` being the first RPC failure: when the two
    are the same exception (a failed resource that nothing else waits on, such as a topic
    policy or an alarm), that sets `exn.__cause__ = exn` and the original is gone from the
    cause chain. It survives as `__context__`, which Python set when `do_register` raised
    inside its `except`, and which re-raising an exception while handling that same exception
    never replaces.
    """
    if error.__cause__ is error:
        return error.__context__
    return error.__cause__


def _unwrap_sdk_wrappers(error: BaseException) -> BaseException:
    """The exception the program (or the monitor) raised, not the SDK's re-wrapping of it.

    The SDK re-raises a failure met while serializing an input as a new `ValueError` ("While
    processing input: …") `from` the original: that original is what the user must see.
    """
    seen = {id(error)}
    while (inner := _wrapped_by_sdk(error)) is not None:
        frames = traceback.extract_tb(error.__traceback__)
        if not frames or not _within(Path(frames[-1].filename).resolve(), _PULUMI_SDK):
            break
        # A failure met again further down (another RPC that failed on the same Output).
        if id(inner) in seen:
            break
        error = inner
        seen.add(id(error))
    return error


def _program_location(error: BaseException, program_dir: Path) -> tuple[Path, int] | None:
    """The deepest frame of the traceback in the program's own files."""
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        return Path(error.filename).resolve(), error.lineno
    candidates = [
        (Path(frame.filename).resolve(), frame.lineno or 0)
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename and not frame.filename.startswith("<")
    ]
    own = [
        (path, line)
        for path, line in candidates
        if _within(path, program_dir) and not _not_program_code(path)
    ]
    return own[-1] if own else None


def _program_error(error: BaseException, program_dir: Path, cwd: Path) -> ProgramError:
    type_name = _exception_type_name(error)
    message = str(error).strip()
    what = f"{type_name}: {message}" if message else type_name
    location = _program_location(error, program_dir)
    if location is None:
        return ProgramError(
            f"The Pulumi program in {_display_path(program_dir, cwd)} failed: {what}",
            exception_type=type_name,
            file=None,
            line=None,
        )
    path, line = location
    return ProgramError(
        f"The Pulumi program failed at {_display_path(path, cwd)}:{line}: {what}",
        exception_type=type_name,
        file=path,
        line=line,
    )


def synthesize(
    program_dir: Path,
    stack: str,
    *,
    mock_values: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> Synthesis:
    """Run the Pulumi program in `program_dir` for `stack` offline and record what it declares.

    Raises `UnknownStackError` without a stack settings file, `MockValuesError` for a bad
    mocks file (or a value it lacks), `PlanError` for what the engine or a provider would
    reject, `ProgramError` when the program raises; exceptions whose class sets
    `is_user_error = True` propagate unchanged.
    """
    cwd = Path.cwd()
    program_dir = Path(program_dir).resolve()
    project = _read_project(program_dir)
    config, secret_keys = _stack_config_values(project, stack)
    short_stack = stack.rsplit("/", 1)[-1]
    mocks_path = (
        Path(mock_values).resolve()
        if mock_values is not None
        else project.stack_config_dir / f"Pulumi.{short_stack}.mocks.yaml"
    )
    values = (
        load_mock_values(mocks_path)
        # exists(), not is_file(): a folder of that name is refused, not silently skipped.
        if mock_values is not None or mocks_path.exists()
        else MockValues()
    )
    if REGION_KEY in secret_keys and values.region is None:
        raise MockValuesError(
            f"{stack_config_key_location(project, stack, REGION_KEY)}: config.{REGION_KEY}: is a "
            "secret, which `eventinfra check` cannot decrypt; expected `region:` in the mocks "
            f"file {mocks_path}, or the region in plain text."
        )
    environment = CloudEnvironment.from_mock_values(values, mocks_path, config.get(REGION_KEY))

    def program() -> None:
        runpy.run_path(str(project.main), run_name="__main__")

    import_roots = list(dict.fromkeys([program_dir, project.main.parent]))
    run = _RunSettings(
        project=project.name,
        stack=short_stack,
        config=config,
        secret_keys=secret_keys,
        environment=environment,
        root_directory=str(program_dir),
        progress=progress,
    )

    def report(raised: BaseException) -> BaseException:
        if not isinstance(raised, (Exception, SystemExit)):
            return raised
        error = _unwrap_sdk_wrappers(raised)
        if getattr(type(error), "is_user_error", False) is True:
            return error  # with its own cause, if any
        return _program_error(error, program_dir, cwd)

    with _program_process(program_dir, import_roots):
        return _run(program, run, isolate_warnings=True, report=report)


def record(
    build: Callable[[], object],
    *,
    project: str = "test",
    stack: str = "test",
    config: Mapping[str, str] | None = None,
    mock_values: Path | None = None,
) -> Synthesis:
    """Run `build` (e.g. constructing one component; what it returns is ignored) as a program
    and return what it declared.

    `config` maps `namespace:key` to the string the engine would pass. Exceptions from `build`
    propagate unchanged, so tests can assert on them.
    """
    values = load_mock_values(mock_values) if mock_values is not None else MockValues()
    settings = dict(config or {})
    run = _RunSettings(
        project=project,
        stack=stack,
        config=settings,
        secret_keys=(),
        environment=CloudEnvironment.from_mock_values(
            values, mock_values, settings.get("aws:region")
        ),
        root_directory=os.getcwd(),
    )
    return _run(build, run, isolate_warnings=False)
