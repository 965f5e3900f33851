"""The provider that hosts eventinfra's components: pulumi's, with integer inputs made `int`."""

import functools
import typing
from typing import Any

import pulumi.output
from pulumi.output import Inputs
from pulumi.provider import main
from pulumi.provider.experimental.analyzer import ComponentDefinition
from pulumi.provider.experimental.component import ComponentProvider

from eventinfra.contract import whole_numbers
from eventinfra.provider.components import PACKAGE_NAME, hosted_components
from eventinfra.provider.schema import SCHEMA_VERSION


@functools.cache
def args_types() -> dict[str, type[Any]]:
    """Each hosted component's Args TypedDict, by component name (the schema's `args`)."""
    return {
        # `pulumi.Input` holds the forward reference 'Output[T]', which resolves in pulumi.output.
        component.__name__: typing.get_type_hints(component.__init__, localns=vars(pulumi.output))[
            "args"
        ]
        for component in hosted_components()
    }


class EventinfraProvider(ComponentProvider):
    """pulumi's `ComponentProvider` for the hosted components, handing them integers as `int`.

    Numbers cross the engine as floats, and pulumi 3.272's `map_input_properties` converts an
    integer input to `int` and then overwrites it with the float (no `continue` after the
    conversion): a component would see `30.0`, which its integer rules refuse and which
    formats as `30.0` in names, JSON documents and environment values. Converting here, where
    every engine call enters, covers every hosted component, nested Args included. Floats
    that are not whole stay floats, for the components' own rules to refuse.
    """

    def __init__(self) -> None:
        super().__init__(hosted_components(), PACKAGE_NAME, version=SCHEMA_VERSION)

    def map_inputs(self, inputs: Inputs, component_def: ComponentDefinition) -> Inputs:
        mapped = super().map_inputs(inputs, component_def)
        whole: Inputs = whole_numbers(mapped, args_types()[component_def.name])
        return whole


def serve(arguments: list[str]) -> None:
    """Serve the provider to the engine, as `component_provider_host` does (pulumi 3.272)."""
    main(EventinfraProvider(), arguments)
