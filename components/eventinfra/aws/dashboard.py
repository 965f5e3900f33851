"""CloudWatch dashboards: one row per consumer, paged at CloudWatch's widget limit."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from eventinfra.aws import defaults, naming
from eventinfra.config.loader import PlatformConfig

WIDGETS_PER_CONSUMER = 3


def dashboards(
    name: str, config: PlatformConfig, parent: pulumi.Resource
) -> list[aws.cloudwatch.Dashboard]:
    """The platform's dashboards, `<name>-dashboard`, then `<name>-dashboard-2`, … per page.

    A function, not a component: the dashboards stay direct children of the platform, so their
    URNs are the ones existing stacks already have.
    """
    region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=parent)).region
    consumer_names = list(config.topology.consumers)
    per_page = defaults.DASHBOARD_MAX_WIDGETS // WIDGETS_PER_CONSUMER
    pages: list[aws.cloudwatch.Dashboard] = []
    for page, first in enumerate(range(0, max(len(consumer_names), 1), per_page)):
        suffix = f"-{page + 1}" if page else ""
        pages.append(
            aws.cloudwatch.Dashboard(
                f"{name}-dashboard{suffix}",
                dashboard_name=f"{config.prefix}-eventinfra{suffix}",
                dashboard_body=dashboard_body(
                    config, consumer_names[first : first + per_page], region
                ).apply(json.dumps),
                opts=pulumi.ResourceOptions(parent=parent),
            )
        )
    return pages


def dashboard_body(
    config: PlatformConfig, consumers: list[str], region: pulumi.Input[str]
) -> pulumi.Output[dict[str, object]]:
    """One row per consumer: queue depth and age, and its dead-letter queue's depth."""

    def body(region_name: str) -> dict[str, object]:
        widgets: list[dict[str, object]] = []
        for row, name in enumerate(consumers):
            fifo = config.consumer_fifo(name)
            queue = naming.queue_name(config.prefix, name, fifo)
            dead_letters = naming.dead_letter_queue_name(config.prefix, name, fifo)
            charts = [
                ("Messages waiting", "ApproximateNumberOfMessagesVisible", queue),
                ("Oldest message (s)", "ApproximateAgeOfOldestMessage", queue),
                ("Dead letters", "ApproximateNumberOfMessagesVisible", dead_letters),
            ]
            for column, (title, metric, queue_name) in enumerate(charts):
                widgets.append(
                    {
                        "type": "metric",
                        "x": column * 8,
                        "y": row * 6,
                        "width": 8,
                        "height": 6,
                        "properties": {
                            "title": f"{name}: {title}",
                            "region": region_name,
                            "stat": "Maximum",
                            "metrics": [["AWS/SQS", metric, "QueueName", queue_name]],
                        },
                    }
                )
        return {"widgets": widgets}

    return pulumi.Output.from_input(region).apply(body)
