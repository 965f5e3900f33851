"""Kubernetes names both backends derive alike."""

import re


def k8s_slug(name: str) -> str:
    """`user.signup` becomes `user-signup`: Kubernetes object names are lowercase DNS names."""
    return re.sub(r"[^a-z0-9-]", "-", name.lower())
