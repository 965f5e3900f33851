"""Evaluates string annotations, which Pulumi's component analyzer cannot read."""

import inspect
import sys
import typing
from typing import Any, ForwardRef

import pulumi


def resolve_annotations(component: type[pulumi.ComponentResource]) -> None:
    """Replace a component's string annotations with the types they name, in place.

    Modules with `from __future__ import annotations` keep every annotation as a string
    (a TypedDict keeps `ForwardRef`s); the analyzer (pulumi 3.272) then fails with
    "'str' object has no attribute '__mro__'". This evaluates, one level deep, exactly the
    strings the module wrote, in the module they were written in; nested `ForwardRef`s the
    SDK itself uses (`pulumi.Input` holds `ForwardRef('Output[T]')`) stay for the analyzer.
    Calling it again, or on a module without the future import, changes nothing.
    """
    init = component.__init__
    init.__annotations__ = inspect.get_annotations(init, eval_str=True)
    component.__annotations__ = inspect.get_annotations(component, eval_str=True)
    _resolve_typed_dicts(init.__annotations__.get("args"), set())


def _resolve_typed_dicts(annotation: Any, seen: set[type]) -> None:
    if isinstance(annotation, type) and typing.is_typeddict(annotation):
        if annotation in seen:
            return
        seen.add(annotation)
        annotation.__annotations__ = {
            name: _evaluate(value, annotation.__module__)
            for name, value in annotation.__annotations__.items()
        }
        for value in annotation.__annotations__.values():
            _resolve_typed_dicts(value, seen)
    for argument in typing.get_args(annotation):
        _resolve_typed_dicts(argument, seen)


def _evaluate(annotation: Any, default_module: str) -> Any:
    if isinstance(annotation, ForwardRef):
        module = annotation.__forward_module__ or default_module
        return eval(annotation.__forward_arg__, vars(sys.modules[module]))
    if isinstance(annotation, str):
        return eval(annotation, vars(sys.modules[default_module]))
    return annotation
