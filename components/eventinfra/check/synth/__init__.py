"""Run a Pulumi Python program offline under a recording mock monitor, like `cdk synth`."""

# One module per stage; names with a leading underscore are shared between these modules only.
from eventinfra.check.synth.analysis import critical_path
from eventinfra.check.synth.project import (
    SECRET_PLACEHOLDER,
    list_stacks,
    read_stack_config_values,
)
from eventinfra.check.synth.result import Diagnostic, Synthesis
from eventinfra.check.synth.run import record, synthesize
from eventinfra.errors import (
    MockValuesError,
    PlanError,
    ProgramError,
    ProjectFileError,
    UnknownStackError,
)

__all__ = [
    "SECRET_PLACEHOLDER",
    "Diagnostic",
    "MockValuesError",
    "PlanError",
    "ProgramError",
    "ProjectFileError",
    "Synthesis",
    "UnknownStackError",
    "critical_path",
    "list_stacks",
    "read_stack_config_values",
    "record",
    "synthesize",
]
