"""Key paths into a config document, written the way a user reads them."""

from __future__ import annotations

import re

KeyPath = tuple[str | int, ...]


def format_key_path(key_path: KeyPath) -> str:
    """`consumers.welcome-email.subscribes[0]`, with dotted names quoted."""
    text = ""
    for key in key_path:
        if isinstance(key, int):
            text += f"[{key}]"
        else:
            plain = re.fullmatch(r"[A-Za-z0-9_:-]+", str(key))
            segment = str(key) if plain else f'"{key}"'
            text += f".{segment}" if text else segment
    return text
