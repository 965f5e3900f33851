"""The engine's wire format: protobuf Structs with signature keys, to and from plain JSON."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, Final
from urllib.parse import unquote, urlparse

from google.protobuf import json_format, struct_pb2
from pulumi.runtime import rpc

from eventinfra.errors import MockValuesError

_SIG_KEY: Final = rpc._special_sig_key
_SECRET_SIG: Final = rpc._special_secret_sig
_ASSET_SIG: Final = rpc._special_asset_sig
_ARCHIVE_SIG: Final = rpc._special_archive_sig
_RESOURCE_SIG: Final = rpc._special_resource_sig
_OUTPUT_VALUE_SIG: Final = rpc._special_output_value_sig


def _plain(value: Any, path: tuple[str | int, ...], secrets: list[tuple[str | int, ...]]) -> Any:
    """A wire value as plain JSON: secrets unwrapped (their paths noted), assets readable."""
    if isinstance(value, dict):
        signature = value.get(_SIG_KEY)
        if signature == _SECRET_SIG:
            secrets.append(path)
            return _plain(value.get("value"), path, secrets)
        if signature == _OUTPUT_VALUE_SIG:
            if value.get("secret"):
                secrets.append(path)
            return _plain(value["value"], path, secrets) if "value" in value else None
        if signature == _ASSET_SIG:
            return {"__asset": {k: value[k] for k in ("path", "text", "uri") if k in value}}
        if signature == _ARCHIVE_SIG:
            if "assets" in value:
                assets = {
                    name: _plain(item, (*path, "assets", name), secrets)
                    for name, item in value["assets"].items()
                }
                return {"__archive": {"assets": assets}}
            return {"__archive": {k: value[k] for k in ("path", "uri") if k in value}}
        if signature == _RESOURCE_SIG:
            # What a provider that does not accept resource references receives: the URN.
            return value.get("urn")
        return {key: _plain(item, (*path, key), secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item, (*path, index), secrets) for index, item in enumerate(value)]
    if isinstance(value, float) and value.is_integer():
        # Struct numbers are float64; the engine prints integral ones as integers.
        return int(value)
    if value == rpc.UNKNOWN:
        return None
    return value


def _struct_to_plain(
    struct: struct_pb2.Struct,
) -> tuple[dict[str, Any], list[tuple[str | int, ...]]]:
    secrets: list[tuple[str | int, ...]] = []
    plain = _plain(json_format.MessageToDict(struct), (), secrets)
    return plain, secrets


def _wire(value: Any) -> Any:
    """The inverse of `_plain` for assets and archives: the SDK rebuilds them from signatures."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("__asset"), dict):
            return {_SIG_KEY: _ASSET_SIG, **value["__asset"]}
        if len(value) == 1 and isinstance(value.get("__archive"), dict):
            archive = dict(value["__archive"])
            if isinstance(archive.get("assets"), dict):
                archive["assets"] = {name: _wire(item) for name, item in archive["assets"].items()}
            return {_SIG_KEY: _ARCHIVE_SIG, **archive}
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


def _to_struct(values: Mapping[str, Any], secret_keys: frozenset[str] = frozenset()) -> Any:
    struct = struct_pb2.Struct()
    struct.update(
        {
            key: (
                {_SIG_KEY: _SECRET_SIG, "value": _wire(value)}
                if key in secret_keys
                else _wire(value)
            )
            for key, value in values.items()
        }
    )
    return struct


def _source_position(position: Any) -> str | None:
    if not position.uri:
        return None
    return f"{unquote(urlparse(position.uri).path)}:{position.line}"


@contextlib.contextmanager
def _located(position: Any) -> Iterator[None]:
    """Prefix a mocks-file error with the program line that needed the missing value."""
    try:
        yield
    except MockValuesError as error:
        where = _source_position(position)
        if where is None:
            raise
        raise MockValuesError(f"{where}: {error}") from None
