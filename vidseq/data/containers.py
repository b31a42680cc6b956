"""How many bytes a video file says it has: the sizes its container's own structure declares.

A partial download is a file cut short: its container still declares the sizes of the parts
it was written with (MP4/MOV boxes, the Matroska/WebM segment, AVI's RIFF chunks), so a file
holding fewer bytes than those sizes add up to is cut, whatever its frame rate and however
its timestamps run. Reading a few headers costs nothing next to decoding.

    >>> from vidseq.data.containers import declared_size
    >>> declared_size("data/demo/real/real_000.mp4")  # doctest: +SKIP
    183204
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

# Top-level MP4/MOV box types a file starts with (ISO BMFF and QuickTime).
MP4_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp", b"sidx", b"uuid", b"pdin"}
EBML_HEADER, MATROSKA_SEGMENT = 0x1A45DFA3, 0x18538067
MAX_TOP_LEVEL = 100_000  # boxes or chunks walked at most (a fragmented MP4 has two per fragment)


def declared_size(path: str | os.PathLike) -> int | None:
    """The bytes `path`'s container declares it holds, up to the last part that starts inside the
    file; None when it declares none: not an MP4/MOV, Matroska/WebM or AVI file, or one written
    live (a WebM segment of unknown size, an MP4 box that runs "to the end of the file")."""
    with open(path, "rb") as f:
        head = f.read(12)
        f.seek(0, os.SEEK_END)
        size = f.tell()
        if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"):
            return _chunks_end(f, size, _riff_chunk)
        if head[4:8] in MP4_FIRST_BOXES:
            return _chunks_end(f, size, _mp4_box)
        if head[:4] == EBML_HEADER.to_bytes(4, "big"):
            return _matroska_end(f, size)
    return None


def _chunks_end(f: BinaryIO, size: int, read_header) -> int | None:
    """Where the last of a file's top-level parts ends: `read_header(f)` gives a part's whole
    length from its start (None: unknown, to the end of the file)."""
    offset = 0
    for _ in range(MAX_TOP_LEVEL):
        if offset >= size:
            return offset
        f.seek(offset)
        length = read_header(f)
        if length is None:
            return None
        offset += length
    return None


def _mp4_box(f: BinaryIO) -> int | None:
    header = f.read(8)
    if len(header) < 8:
        return None
    length = struct.unpack(">I", header[:4])[0]
    if length == 1:  # a 64-bit size follows the type
        large = f.read(8)
        return struct.unpack(">Q", large)[0] if len(large) == 8 and struct.unpack(">Q", large)[0] >= 16 else None
    return length if length >= 8 else None  # 0: to the end of the file; 2-7: not a box


def _riff_chunk(f: BinaryIO) -> int | None:
    header = f.read(8)
    if len(header) < 8 or header[:4] != b"RIFF":
        return None
    length = struct.unpack("<I", header[4:])[0]
    return 8 + length + (length & 1)  # chunks are padded to an even size


def _matroska_end(f: BinaryIO, size: int) -> int | None:
    """The end of the Matroska segment after the EBML header, None when its size is unknown."""
    f.seek(0)
    for expected in (EBML_HEADER, MATROSKA_SEGMENT):
        element, length = _ebml_vint(f, keep_marker=True), _ebml_vint(f)
        if element != expected or length is None:
            return None
        if element == EBML_HEADER:
            f.seek(length, os.SEEK_CUR)
    return f.tell() + length


def _ebml_vint(f: BinaryIO, keep_marker: bool = False) -> int | None:
    """An EBML variable-length integer (element IDs keep their length marker); None when its
    value bits are all ones (an unknown size) or it is malformed."""
    first = f.read(1)
    if not first or first[0] == 0:
        return None
    width = 8 - first[0].bit_length() + 1
    rest = f.read(width - 1)
    if len(rest) < width - 1:
        return None
    value = int.from_bytes(first + rest, "big")
    if keep_marker:
        return value
    value &= (1 << (7 * width)) - 1
    return None if value == (1 << (7 * width)) - 1 else value


__all__ = ["declared_size"]
