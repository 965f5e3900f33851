"""The eventinfra package provider: hosts eventinfra's components for the Pulumi engine."""

# eventinfra comes from the plugin's virtualenv: requirements.txt installs this checkout into
# it (`-e ..`), so nothing here reads the repository's location from a file path.
from pulumi.provider.experimental import component_provider_host

from eventinfra.provider.components import PACKAGE_NAME, hosted_components

if __name__ == "__main__":
    component_provider_host(hosted_components(), PACKAGE_NAME)
