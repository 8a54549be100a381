"""Crafted hostile files, small on disk: zip bombs whose members really inflate to gigabytes,
lying archive headers, a PNG that decodes to 12000², an EPS named .png."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

CHUNK = 1 << 20


def deflated(prefix: bytes, total: int) -> bytes:
    """A raw deflate stream of ``prefix`` followed by zeros up to ``total`` bytes, made by
    repeating one fully flushed block (a 2 GB stream costs a few MB and milliseconds)."""
    assert total >= 3 * CHUNK and len(prefix) < CHUNK
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(prefix + bytes(CHUNK - len(prefix))) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(CHUNK)) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(bytes(CHUNK)) + c.flush(zlib.Z_FULL_FLUSH)
    assert block == again
    rest = c.compress(bytes(total % CHUNK)) + c.flush()
    return first + block * (total // CHUNK - 2) + again + rest


def raw_zip(path: Path, members: list[tuple[str, bytes, int, int]]) -> Path:
    """A zip of ``(name, data, method, declared_size)`` members (a deflated member's CRC is left
    0: a bomb is refused before anything reads that far). Sizes stay below 4 GiB (no zip64)."""
    out, central = bytearray(), bytearray()
    for name, data, method, size in members:
        encoded = name.encode()
        offset = len(out)
        crc = zlib.crc32(data) if method == 0 else 0
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0, crc, len(data), size,
                           len(encoded), 0) + encoded + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0, crc,
                               len(data), size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central),
                      len(out), 0)
    path.write_bytes(bytes(out + central + end))
    return path


def npy_header(shape, dtype="<u1") -> bytes:
    header = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def npz_bomb(path: Path, gigabytes: float = 2.1) -> Path:
    """An .npz whose x_train really inflates to ``gigabytes`` of zeros (about 2 MB on disk)."""
    total = int(gigabytes * 1e9) // CHUNK * CHUNK
    header = npy_header((total - 128,))
    assert len(header) == 128
    y = npy_header((2,)) + bytes(2)
    return raw_zip(path, [("x_train.npy", deflated(header, total), 8, total),
                          ("y_train.npy", y, 0, len(y))])


def png_bomb(path: Path, side: int = 12000) -> Path:
    """A grey PNG of side × side black pixels: about 150 KB on disk, ``side``² bytes decoded."""
    raw = (side + 1) * side  # a filter byte (0) per row, then the row: all zeros
    adler = ((raw % 65521) << 16) | 1  # Adler-32 of zeros
    data = b"\x78\xda" + deflated(b"", raw) + struct.pack(">I", adler)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", bytes(data))
                     + chunk(b"IEND", b""))
    return path


EPS = (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n"
       b"/loop { loop } def { } loop\nshowpage\n%%EOF\n")


def digit_arrays(n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 4, 4), dtype=np.float32), np.arange(n) % 2


def h5_bomb(path: Path, gigabytes: int = 4) -> Path:
    """An HDF5 file whose gzip dataset really inflates to ``gigabytes`` GiB of zeros (a few MB on
    disk): one 64 MiB chunk compressed once and written as every chunk, never inflated here."""
    import h5py

    side = 1 << 24  # float32s per chunk: 64 MiB
    packed = zlib.compress(bytes(4 * side), 9)
    with h5py.File(path, "w") as h5:
        weights = h5.create_dataset("model_weights/dense/kernel", shape=(16 * gigabytes, side),
                                    dtype="float32", chunks=(1, side), compression="gzip")
        for row in range(16 * gigabytes):
            weights.id.write_direct_chunk((row, 0), packed)
    return path
