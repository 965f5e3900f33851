"""`eventinfra docs --eventcatalog`: pages EventCatalog's own SDK reads back, rewritten idempotently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eventinfra.check.cli import EXIT_INVALID, EXIT_OK, main
from eventinfra.check.eventcatalog import GENERATED_END, GENERATED_START
from tests.support import REPOSITORY
from tests.support.catalogue_tools import read_eventcatalog


def write(directory: Path, stack: str = "dev") -> int:
    return main(
        ["docs", "--program", str(REPOSITORY), "--stack", stack, "--eventcatalog", str(directory)]
    )


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def catalogues(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    found = {}
    for stack in ("dev", "k8s", "kafka"):
        directory = tmp_path_factory.mktemp(f"eventcatalog-{stack}")
        assert write(directory, stack) == EXIT_OK
        found[stack] = (directory, read_eventcatalog(directory))
    return found


def by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}


def test_the_sdk_finds_every_event_with_its_version_schema_and_channel(
    catalogues: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    events = by_id(catalogues["dev"][1]["events"])
    assert set(events) == {"user.signup", "order.placed", "invoice.paid"}
    assert {e["version"] for e in events.values()} == {"1.0.0"}
    signup = events["user.signup"]
    assert signup["summary"] == "A user finished signing up."
    assert signup["schemaFile"] == "schema.json"
    assert signup["schema"] == json.loads((REPOSITORY / "schemas" / "user.signup.json").read_text())
    assert signup["channels"] == [{"id": "sns.user.signup", "version": "1.0.0"}]
    assert events["invoice.paid"]["schemaFile"] is None


def test_the_sdk_finds_producers_and_consumers_of_every_event(
    catalogues: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    events = by_id(catalogues["dev"][1]["events"])
    relations = {e: (v["producers"], v["consumers"]) for e, v in events.items()}
    assert relations == {
        "user.signup": (["accounts-api"], ["analytics", "welcome-email"]),
        "order.placed": (["checkout-api"], ["analytics", "fulfilment"]),
        "invoice.paid": (["billing"], []),
    }
    assert events["invoice.paid"]["badges"] == ["No consumer"]
    assert "stored in dev-invoice-paid-parking" in events["invoice.paid"]["markdown"]


def test_the_sdk_finds_every_service_and_channel(
    catalogues: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    found = catalogues["dev"][1]
    services = by_id(found["services"])
    assert set(services) == {
        "accounts-api",
        "checkout-api",
        "billing",
        "welcome-email",
        "analytics",
        "fulfilment",
    }
    assert services["analytics"]["receives"] == [
        {"id": "user.signup", "version": "1.0.0", "from": ["sns.user.signup"]},
        {"id": "order.placed", "version": "1.0.0", "from": ["sns.order.placed"]},
    ]
    assert services["accounts-api"]["sends"] == [
        {"id": "user.signup", "version": "1.0.0", "to": ["sns.user.signup"]}
    ]
    assert services["welcome-email"]["summary"] == "Sends the welcome e-mail to paying plans."
    assert "maxReceiveCount: 5" in services["welcome-email"]["markdown"]
    channels = by_id(found["channels"])
    assert channels["sns.user.signup"] == {
        "id": "sns.user.signup",
        "version": "1.0.0",
        "address": "dev-user-signup",
        "protocols": ["sns"],
    }


def test_the_rabbitmq_catalogue_has_exchanges_and_queues_as_channels(
    catalogues: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    found = catalogues["k8s"][1]
    services = by_id(found["services"])
    assert services["mailer"]["receives"] == [
        {"id": "user.signup", "version": "1.0.0", "from": ["rabbitmq.queue.mailer"]}
    ]
    channels = by_id(found["channels"])
    assert channels["rabbitmq.user.signup"]["protocols"] == ["amqps"]
    assert channels["rabbitmq.queue.fulfilment.dead-letter"]["address"] == "fulfilment.dead-letter"
    relations = {e["id"]: e["consumers"] for e in found["events"]}
    assert relations == {
        "invoice.paid": [],
        "order.placed": ["analytics", "fulfilment"],
        "user.signup": ["analytics", "mailer"],
    }


def test_the_kafka_catalogue_has_topics_and_dead_letter_topics_as_channels(
    catalogues: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    found = catalogues["kafka"][1]
    events = by_id(found["events"])
    relations = {e: (v["producers"], v["consumers"]) for e, v in events.items()}
    assert relations == {
        "user.signup": (["accounts-api"], ["analytics", "mailer"]),
        "order.placed": (["checkout-api"], ["analytics", "fulfilment"]),
        "invoice.paid": (["billing"], []),
    }
    assert events["invoice.paid"]["badges"] == ["No consumer"]
    assert "stored in invoice.paid (the topic itself" in events["invoice.paid"]["markdown"]
    services = by_id(found["services"])
    assert services["mailer"]["receives"] == [
        {"id": "user.signup", "version": "1.0.0", "from": ["kafka.user.signup"]}
    ]
    assert "Dead-letter topics: mailer.dead-letter." in services["mailer"]["markdown"]
    assert services["mailer"]["summary"] == (
        "Sends the welcome e-mail; it decides itself which plans get one."
    )
    channels = by_id(found["channels"])
    assert channels["kafka.order.placed"] == {
        "id": "kafka.order.placed",
        "version": "1.0.0",
        "address": "order.placed",
        "protocols": ["kafka-secure"],
    }
    assert channels["kafka.mailer.dead-letter"]["address"] == "mailer.dead-letter"


def test_running_twice_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert write(tmp_path) == EXIT_OK
    first = snapshot(tmp_path)
    capsys.readouterr()
    assert write(tmp_path) == EXIT_OK
    assert snapshot(tmp_path) == first
    assert "unchanged." in capsys.readouterr().err


def test_hand_written_prose_and_front_matter_are_kept(tmp_path: Path) -> None:
    assert write(tmp_path) == EXIT_OK
    page = tmp_path / "events" / "user.signup" / "index.mdx"
    text = page.read_text(encoding="utf-8")
    # A person adds an owner, an intro above the generated part and notes below it, and edits
    # inside the generated part (which is theirs to lose).
    text = text.replace("---\n\n", "owners:\n- growth-team\n---\n\nWhy we send this event.\n\n", 1)
    text = text.replace("Producers:", "Producers (edited):")
    text += "\n## Notes\n\nAsk #growth before changing the schema.\n"
    page.write_text(text, encoding="utf-8")
    assert write(tmp_path) == EXIT_OK
    rewritten = page.read_text(encoding="utf-8")
    assert "owners:\n- growth-team\n" in rewritten
    assert rewritten.index("Why we send this event.") < rewritten.index(GENERATED_START)
    assert rewritten.index(GENERATED_END) < rewritten.index(
        "Ask #growth before changing the schema."
    )
    assert "Producers (edited):" not in rewritten
    assert "Producers: accounts-api." in rewritten
    assert write(tmp_path) == EXIT_OK
    assert page.read_text(encoding="utf-8") == rewritten
    event = by_id(read_eventcatalog(tmp_path)["events"])["user.signup"]
    assert "Ask #growth before changing the schema." in event["markdown"]


def test_a_page_without_markers_keeps_its_text_below_the_generated_part(tmp_path: Path) -> None:
    page = tmp_path / "services" / "billing" / "index.mdx"
    page.parent.mkdir(parents=True)
    page.write_text("---\nid: billing\nowners: [finance]\n---\n\nBilling owns invoices.\n")
    assert write(tmp_path) == EXIT_OK
    text = page.read_text(encoding="utf-8")
    assert text.index(GENERATED_END) < text.index("Billing owns invoices.")
    assert "owners:\n- finance\n" in text
    assert "sends:\n" in text


def test_a_page_with_unclosed_front_matter_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "services" / "billing" / "index.mdx"
    page.parent.mkdir(parents=True)
    page.write_text("---\nid: billing\n")
    assert write(tmp_path) == EXIT_INVALID
    err = capsys.readouterr().err
    assert f"{page}: the front matter opened on line 1 is never closed" in err
    assert "Traceback" not in err
