"""The eventinfra policy pack of this repository: the rules live in eventinfra_policies/."""

from eventinfra_policies.serve import serve

serve()
