"""The eventinfra package provider: hosts eventinfra's components for the Pulumi engine."""

import sys
from pathlib import Path

# The plugin runs from this folder; the package's source is the checkout's `components/`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "components"))

from pulumi.provider.experimental import component_provider_host

from eventinfra.provider.components import PACKAGE_NAME, hosted_components

if __name__ == "__main__":
    component_provider_host(hosted_components(), PACKAGE_NAME)
