"""The eventinfra package provider: hosts eventinfra's components for the Pulumi engine."""

import sys

# eventinfra comes from the plugin's virtualenv: requirements.txt installs this checkout into
# it (`-e ..`), so nothing here reads the repository's location from a file path.
from eventinfra.provider.host import serve

if __name__ == "__main__":
    # Like `component_provider_host`, with the provider that hands components integers as `int`.
    serve(sys.argv[1:])
