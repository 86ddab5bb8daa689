"""Small real PNG images, made with the standard library."""

from __future__ import annotations

import functools
import struct
import zlib


def make_png(seed: int, size: int = 64) -> bytes:
    """A ``size`` x ``size`` RGB gradient whose colours depend on ``seed``."""
    r0, g0, b0 = (seed * 67) % 256, (seed * 131) % 256, (seed * 197) % 256
    rows = []
    for y in range(size):
        row = bytearray(b"\x00")  # filter type: none
        for x in range(size):
            row += bytes(((r0 + 4 * x) % 256, (g0 + 4 * y) % 256, (b0 + 2 * (x + y)) % 256))
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@functools.lru_cache(maxsize=2)
def padded_png(total: int) -> bytes:
    """A valid PNG of exactly ``total`` bytes (or the plain image, if ``total`` is smaller):
    the 64x64 image with a private ancillary chunk of zeros, which readers skip. Cached, so
    large files for download benchmarks are built once."""
    image = make_png(0)
    pad = total - len(image) - 12  # a chunk adds length, type and CRC
    if pad < 0:
        return image
    end = len(image) - 12  # IEND is the last 12 bytes
    return image[:end] + _chunk(b"skIp", bytes(pad)) + image[end:]
