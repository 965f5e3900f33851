"""A symmetric customer-managed key with rotation off."""

import pulumi_aws as aws

# MISCONFIGURATION: enable_key_rotation left False.
aws.kms.Key("events-key", enable_key_rotation=False, description="events")
