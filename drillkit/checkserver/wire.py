"""The messages between `drill check` and the check server: one JSON object each way per
connection, framed by a 4-byte length. Only the standard library (the client imports it)."""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

REQUEST_LIMIT = 256 * 1024  # a job: paths and a few names
REPLY_LIMIT = 64 * 1024 * 1024  # a report: the learner's output is capped well below this


class WireError(OSError):
    """The other side hung up, or sent something that is not a message."""


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message, ensure_ascii=False).encode("utf-8", "surrogatepass")
    sock.sendall(struct.pack(">I", len(data)) + data)


def receive(sock: socket.socket, limit: int) -> dict[str, Any]:
    (size,) = struct.unpack(">I", _exactly(sock, 4))
    if size > limit:
        raise WireError(f"a message of {size} bytes (at most {limit})")
    try:
        message = json.loads(_exactly(sock, size).decode("utf-8", "surrogatepass"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError(f"not a message: {exc}") from None
    if not isinstance(message, dict):
        raise WireError("not a message: not an object")
    return message


def peer(sock: socket.socket) -> tuple[int, int]:
    """The other side's pid and uid, from the kernel (SO_PEERCRED: not from anything it said)."""
    pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    return pid, uid


def _exactly(sock: socket.socket, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        chunk = sock.recv(min(size - got, 1 << 20))
        if not chunk:
            raise WireError("the other side hung up")
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)
