"""The YAML reader reads what the user wrote, and refuses what it cannot read safely and fast."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from eventinfra.config.yaml_reader import MAX_VALUES, read_yaml
from eventinfra.errors import ConfigError


def read(tmp_path: Path, content: str | bytes) -> object:
    path = tmp_path / "t.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return read_yaml(path).data


def refusal(tmp_path: Path, content: str | bytes) -> tuple[int | None, str, str]:
    with pytest.raises(ConfigError) as raised:
        read(tmp_path, content)
    ((problem),) = raised.value.problems
    return problem.line, problem.key_path, problem.message


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("[yes, no, on, off, y, n]", ["yes", "no", "on", "off", "y", "n"]),
        ("[007, 010, 0x1F, 0o17]", ["007", "010", "0x1F", "0o17"]),
        ("[1:30, 2024-01-01]", ["1:30", "2024-01-01"]),
        ("[true, false, True, FALSE]", [True, False, True, False]),
        ("[0, 42, -3, 1_209_600, 1.5, null, ~]", [0, 42, -3, 1_209_600, 1.5, None, None]),
    ],
)
def test_scalars_are_read_as_written_not_as_yaml_1_1_guesses(
    tmp_path: Path, text: str, value: list[object]
) -> None:
    assert read(tmp_path, f"v: {text}") == {"v": value}


def test_merge_keys_with_overrides_work(tmp_path: Path) -> None:
    text = "base: &b {x: 1, y: 2}\nother: &o {y: 9, z: 3}\nc:\n  <<: [*b, *o]\n  y: 5\n"
    assert read(tmp_path, text)["c"] == {"y": 5, "x": 1, "z": 3}  # type: ignore[index]


def test_an_alias_bomb_fails_fast_with_a_clear_error(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for name, previous in zip("bcdefgh", "abcdefg", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    started = time.perf_counter()
    _, _, message = refusal(tmp_path, "\n".join(lines))
    assert time.perf_counter() - started < 5
    assert message == (
        f"expands to more than {MAX_VALUES} values (through aliases); expected a configuration "
        "of ordinary size."
    )


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, "[" * 100 + "]" * 100)[2] == (
        "nests values too deeply; expected at most 64 levels."
    )


def test_a_binary_file_is_refused_by_name(tmp_path: Path) -> None:
    assert refusal(tmp_path, b"\x7fELF\x00\x01") == (
        None,
        "",
        "is a binary file (it contains NUL bytes); expected a YAML file.",
    )


def test_a_file_in_another_encoding_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, "name: caf\xe9\n".encode("latin-1")) == (
        None,
        "",
        "is not UTF-8 text (invalid byte at offset 9); expected a YAML file saved as UTF-8.",
    )


def test_a_folder_is_refused_as_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        read_yaml(tmp_path)
    assert raised.value.problems[0].message == "is a folder; expected a YAML file."


def test_a_key_that_is_a_mapping_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, "? {a: 1}\n: x\n") == (
        1,
        "",
        "has a key that is a list or mapping; expected plain names as keys.",
    )
