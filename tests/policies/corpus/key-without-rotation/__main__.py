"""A symmetric customer-managed key with rotation off."""

import sys
from pathlib import Path

import pulumi_aws as aws

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# MISCONFIGURATION: enable_key_rotation left False.
aws.kms.Key("events-key", enable_key_rotation=False, description="events")
