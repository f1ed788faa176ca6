"""Checks of the PNG files `qa eval --report` draws: a whole PNG (signature, header, end) of the size drawn."""

from __future__ import annotations

import struct
from pathlib import Path

from qa.evaluation.pictures import DPI, HEIGHT, WIDTH

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path: Path) -> None:
    """The file is a complete PNG image of WIDTH x HEIGHT inches at DPI, with something drawn in it."""
    data = path.read_bytes()
    assert data[:8] == SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (round(WIDTH * DPI), round(HEIGHT * DPI))
    assert data[-12:-4] == b"\x00\x00\x00\x00IEND", f"{path.name} is cut short"
    assert len(data) > 10_000, "a blank image compresses to far less"
