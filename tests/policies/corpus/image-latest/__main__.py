"""A worker Deployment on the :latest image: every reschedule may run another build."""

from tests.policies.corpus import k8s_kit as kit

# MISCONFIGURATION: the image tag moves.
kit.worker("report-worker", image="ghcr.io/acme/report-worker:latest")
