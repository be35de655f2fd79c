"""What a dataset repo records about its dataset file: the card's ``hades_zoo:`` block
and the ``<file>.sha256`` sidecar, which must agree on the sha256.

Used for a repo read through huggingface_hub (``hub.pull``) and for a copy ``pull``
wrote into hades_zoo's cache (``hub.pulled``) alike.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hades_zoo.hub.cards import card_block
from hades_zoo.hub.client import _tagged

__all__ = ["parse_card", "parse_sidecar", "agreed_sha256"]


def parse_card(path: Path) -> dict[str, Any]:
    """The ``hades_zoo:`` block of a README.md card file.

    Raises:
        DatasetFormatError: no such block, or an invalid YAML header.
        OSError, UnicodeDecodeError: the file cannot be read as UTF-8 text.
    """
    return card_block(path.read_text(encoding="utf-8"))


def parse_sidecar(path: Path) -> str:
    """The sha256 of a ``sha256sum``-style sidecar (lowercase hex).

    Raises:
        ValueError: the file holds no sha256 (empty, truncated, garbage).
        OSError: the file cannot be read.
    """
    text = path.read_text(encoding="utf-8").split()
    if not text or not re.fullmatch(r"[0-9a-fA-F]{64}", text[0]):
        raise ValueError(f"sidecar {path.name} holds no sha256 ({path.stat().st_size} "
                         "bytes)")
    return text[0].lower()


def agreed_sha256(where: str, filename: str, block: dict[str, Any],
                  side: str | None) -> str | None:
    """The sha256 recorded for ``filename``: the sidecar's and the card's must agree.

    Args:
        where: the repo or folder, for the message.
        filename: the dataset file.
        block: the card's ``hades_zoo:`` block ({} when the card was not read).
        side: the sidecar's sha256, or None.

    Returns:
        The recorded sha256, or None when neither records one.

    Raises:
        HubError: both record one and they differ (reason ``inconsistent``), naming
            both values and the fix.
    """
    card = block.get("sha256") if block.get("file") == filename else None
    card = str(card).lower() if card else None
    if side and card and side != card:
        raise _tagged("inconsistent", (
            f"{where}: the card records sha256 {card} for {filename} but its sidecar "
            f"{filename}.sha256 records {side}; refusing to guess which file is meant. "
            "Fix: re-push the dataset so card and sidecar agree (`hades-zoo push DIR "
            "--repo-id ... --overwrite-card`), or pass the sha256 you trust (sha256=)."
        ))
    return side or card
