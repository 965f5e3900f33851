"""What a component's children wait for: the `depends_on` its caller gave the component."""

from typing import Any

import pulumi


def after_caller(
    opts: pulumi.ResourceOptions | None, parent: pulumi.Resource, **options: Any
) -> pulumi.ResourceOptions:
    """Options of a child that must wait for what its component was told to wait for.

    Pulumi does not hand a component's `depends_on` down to its children: a child inherits only
    `protect` and the providers from its parent (pulumi 3.272, `Resource.__init__`), and the
    engine orders a child by its own dependencies. A custom resource of an operator's kind (a
    RabbitMQ Queue, a KafkaTopic, a KEDA ScaledObject) must still wait for that operator's
    manifests, which the caller passes as the component's `depends_on` (from another language,
    the `dependsOn` resource option; through the provider, the engine's dependencies). So each
    such child gets them here, with `parent` and its own `options`; a `depends_on` among
    `options` is added to the caller's. Merging keeps an Output `depends_on` working too.
    """
    own = pulumi.ResourceOptions(parent=parent, **options)
    if opts is None or opts.depends_on is None:
        return own
    return pulumi.ResourceOptions.merge(pulumi.ResourceOptions(depends_on=opts.depends_on), own)
