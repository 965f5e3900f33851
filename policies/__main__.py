"""The eventinfra policy pack of this repository: the rules of the eventinfra_policies package.

No sys.path change is needed: the CLI's shim runs this folder with `runpy.run_path(".")`, which
puts the folder itself first on sys.path, so the sibling package imports like an installed one.
"""

from eventinfra_policies.serve import serve

serve()
