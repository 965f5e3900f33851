"""Hosting eventinfra's components as a Pulumi package, for programs in every Pulumi language."""
