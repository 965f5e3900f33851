"""KafkaAccess: one application's KafkaUser with literal ACLs, its credentials in a Secret."""

from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from eventinfra.contract import raise_for
from eventinfra.kafka import defaults
from eventinfra.kafka import validation as rules
from eventinfra.ordering import after_caller


class AclArgs(TypedDict):
    """Operations on one literal resource: never a prefix, never `*`."""

    resource_type: str
    """`topic` or `group`."""
    name: str
    """The topic's or group's exact name."""
    operations: list[str]
    """Kafka operations allowed on it (`Read`, `Write`, `Describe`)."""


class KafkaAccessArgs(TypedDict):
    """One application's principal and what it may do."""

    namespace: pulumi.Input[str]
    """The cluster's namespace, where the KafkaUser and its Secret go."""
    cluster_name: str
    """The Kafka cluster the user belongs to (its `strimzi.io/cluster` label)."""
    user_name: str
    """metadata.name of the KafkaUser: the principal (`CN=<name>` with TLS) and the name of the
    Secret the User Operator writes (`user.crt`, `user.key`, `ca.crt` with TLS)."""
    tls: bool
    """Client certificates; False: SCRAM-SHA-512 with a password from this component's Secret."""
    acls: list[AclArgs]
    """Everything the principal may do, each on one literal topic or group."""
    labels: NotRequired[dict[str, str]]
    """Labels of every object."""


class KafkaAccess(pulumi.ComponentResource):
    """A KafkaUser whose ACLs name each topic and group literally (`authorization: simple`).

    With TLS the User Operator issues the client certificate into the Secret named like the
    user. With SCRAM-SHA-512 this component generates the password (random, secret) into
    `<user>-password` (`username`, `password`), and the KafkaUser reads it from there, so KEDA
    and the application find both keys in one Secret.
    """

    user_name: str
    """metadata.name of the KafkaUser."""
    secret_name: str
    """The Secret an application mounts its credentials from."""

    def __init__(
        self, name: str, args: KafkaAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        raise_for("KafkaAccess", name, rules.acl_name_problems(args["acls"]))
        super().__init__("eventinfra:index:KafkaAccess", name, None, opts)
        # Everything here waits for what the access waits for (the operators' manifests).
        child = after_caller(opts, self)
        labels = {**args.get("labels", {}), "strimzi.io/cluster": args["cluster_name"]}
        namespace = args["namespace"]
        self.user_name = args["user_name"]
        authentication: dict[str, Any]
        if args["tls"]:
            self.secret_name = self.user_name
            authentication = {"type": "tls"}
        else:
            self.secret_name = f"{self.user_name}-password"
            password = pulumi.Output.secret(
                random.RandomPassword(
                    f"{name}-password",
                    length=defaults.PASSWORD_LENGTH,
                    special=False,
                    opts=child,
                ).result
            )
            k8s.core.v1.Secret(
                f"{name}-credentials",
                metadata={"name": self.secret_name, "namespace": namespace, "labels": labels},
                type="Opaque",
                string_data={"username": self.user_name, "password": password},
                opts=child,
            )
            authentication = {
                "type": "scram-sha-512",
                "password": {
                    "valueFrom": {"secretKeyRef": {"name": self.secret_name, "key": "password"}}
                },
            }
        k8s.apiextensions.CustomResource(
            f"{name}-user",
            api_version=defaults.API_VERSION,
            kind="KafkaUser",
            metadata={"name": self.user_name, "namespace": namespace, "labels": labels},
            spec={
                "authentication": authentication,
                "authorization": {
                    "type": "simple",
                    "acls": [
                        {
                            "type": "allow",
                            "resource": {
                                "type": acl["resource_type"],
                                "name": acl["name"],
                                "patternType": "literal",
                            },
                            "operations": list(acl["operations"]),
                        }
                        for acl in args["acls"]
                    ],
                },
            },
            opts=child,
        )
        self.register_outputs({"user_name": self.user_name, "secret_name": self.secret_name})


def producer_acls(topics: list[str]) -> list[AclArgs]:
    """Write and Describe on each topic (Write also allows idempotent produce, Kafka ≥ 3.0)."""
    return [
        {"resource_type": "topic", "name": topic, "operations": ["Write", "Describe"]}
        for topic in topics
    ]


def consumer_acls(topics: list[str], group: str, dead_letter_topic: str) -> list[AclArgs]:
    """Read and Describe on its topics, Read on its own group, Write on its dead-letter topic."""
    acls: list[AclArgs] = [
        {"resource_type": "topic", "name": topic, "operations": ["Read", "Describe"]}
        for topic in topics
    ]
    acls.append({"resource_type": "group", "name": group, "operations": ["Read"]})
    acls.append(
        {"resource_type": "topic", "name": dead_letter_topic, "operations": ["Write", "Describe"]}
    )
    return acls


def ops_acls(dead_letter_topics: list[str], retry_topics: list[str], group: str) -> list[AclArgs]:
    """What `eventinfra dlq` needs and no more: Read on its own group (to commit how far it has
    taken each dead-letter topic), Read and Describe on the dead-letter topics (fetch, end
    offsets), Write and Describe on the retry topics (redrive). It cannot read an event's topic,
    write one, or join a consumer's group."""
    acls: list[AclArgs] = [{"resource_type": "group", "name": group, "operations": ["Read"]}]
    acls += [
        {"resource_type": "topic", "name": topic, "operations": ["Read", "Describe"]}
        for topic in dead_letter_topics
    ]
    acls += [
        {"resource_type": "topic", "name": topic, "operations": ["Write", "Describe"]}
        for topic in retry_topics
    ]
    return acls
