"""RabbitMQUser: one application's broker credentials (random, secret), user and permissions."""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from eventinfra.ordering import after_caller
from eventinfra.rabbitmq import defaults
from eventinfra.rabbitmq.resources import topology_object


class PermissionsArgs(TypedDict):
    """Anchored regexes over exchange and queue names (RabbitMQ's three permission kinds)."""

    configure: str
    """Names the user may declare or delete (`^$`: none)."""
    write: str
    """Names the user may publish to or bind to."""
    read: str
    """Names the user may consume from or bind from."""


class RabbitMQUserArgs(TypedDict):
    """One application's user: its name, its Secret and its permissions on one vhost."""

    namespace: pulumi.Input[str]
    """Namespace of the Secret, User and Permission (the broker's)."""
    cluster_name: pulumi.Input[str]
    """The RabbitmqCluster the user belongs to."""
    username: str
    """The RabbitMQ user name (one per application; never `guest`)."""
    secret_name: str
    """The Kubernetes Secret holding `username` and `password` (and the extra keys)."""
    object_name: str
    """metadata.name of the User and Permission objects."""
    vhost: pulumi.Input[str]
    """The vhost the permissions apply to."""
    permissions: PermissionsArgs
    """What the user may configure, write and read, as anchored regexes."""
    tags: NotRequired[list[str]]
    """RabbitMQ user tags; `management` lets KEDA read queue lengths over the HTTP API."""
    uri_template: NotRequired[str | None]
    """When set, the Secret also gets `uri_key`: this template with {username} and {password}."""
    uri_key: NotRequired[str]
    """The Secret key of the URI (default `uri`; KEDA's scaler reads `host`)."""
    extra_data: NotRequired[dict[str, pulumi.Input[str]]]
    """More (non-secret) Secret keys, e.g. host, port, vhost and queue for a consumer."""
    labels: NotRequired[dict[str, str]]
    """Labels of every object."""


class RabbitMQUser(pulumi.ComponentResource):
    """A RabbitMQ user whose random password lives only in a Kubernetes Secret.

    The Messaging Topology Operator creates the user from that Secret (`importCredentialsSecret`
    reads its `username` and `password` keys) and grants the anchored permissions on one vhost.
    """

    secret_name: str
    """The Secret applications mount their credentials from."""
    username: str
    """The RabbitMQ user name."""
    password: pulumi.Output[str]
    """The generated password, always a secret Output."""

    def __init__(
        self, name: str, args: RabbitMQUserArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("eventinfra:index:RabbitMQUser", name, None, opts)
        # Everything here waits for what the user waits for (the operators' manifests).
        child = after_caller(opts, self)
        labels = args.get("labels", {})
        self.username = args["username"]
        self.secret_name = args["secret_name"]

        generated = random.RandomPassword(
            f"{name}-password",
            length=defaults.PASSWORD_LENGTH,
            special=False,
            opts=child,
        )
        # RandomPassword.result is secret in the provider's schema; say so explicitly, so that
        # nothing derived from it (the Secret, the URI) can ever be shown in plain text.
        self.password = pulumi.Output.secret(generated.result)
        data: dict[str, pulumi.Input[str]] = {
            **args.get("extra_data", {}),
            "username": self.username,
            "password": self.password,
        }
        template = args.get("uri_template")
        if template:
            data[args.get("uri_key", "uri")] = pulumi.Output.secret(
                self.password.apply(
                    lambda password: template.format(username=self.username, password=password)
                )
            )
        secret = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata={"name": self.secret_name, "namespace": args["namespace"], "labels": labels},
            type="Opaque",
            string_data=data,
            opts=child,
        )
        # CustomResource.metadata is the input mapping, not an Output: order by depends_on.
        user = topology_object(
            f"{name}-user",
            "User",
            {
                "tags": args.get("tags", []),
                "importCredentialsSecret": {"name": secret.metadata.name},
            },
            object_name=args["object_name"],
            namespace=args["namespace"],
            cluster_name=args["cluster_name"],
            labels=labels,
            opts=child,
        )
        topology_object(
            f"{name}-permission",
            "Permission",
            {
                "vhost": args["vhost"],
                "userReference": {"name": args["object_name"]},
                "permissions": dict(args["permissions"]),
            },
            object_name=args["object_name"],
            namespace=args["namespace"],
            cluster_name=args["cluster_name"],
            labels=labels,
            opts=after_caller(opts, self, depends_on=[user]),
        )
        self.register_outputs({"secret_name": self.secret_name, "username": self.username})
