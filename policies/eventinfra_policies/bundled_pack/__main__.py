"""The policy pack installed with eventinfra; `eventinfra check` runs it when no other is named."""

from eventinfra_policies.serve import serve

serve()
