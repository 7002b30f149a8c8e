"""How the CLI and the checker child talk: the job in, the report out.

CLI → child, over the job pipe: a length-prefixed JSON job, then the run's secret token;
then the CLI closes the pipe. The worker reads the job when it gets it and the token only
after the checks ran and the integrity seal held, the moment before it writes its report:
learner code running earlier finds no token in memory, and one that reads it from the pipe
leaves none for the worker, which then reports tampering.

child → CLI: the report, as JSON carrying the token, in an unnamed temp file the worker
inherits as a file descriptor (no path exists anywhere for learner code to find). The CLI
reads at most RESULT_LIMIT bytes of it and trusts nothing in it (results.py validates).

Only the standard library here: the CLI imports this on every check.
"""

from __future__ import annotations

import codecs
import json
import os
import struct
from typing import Any

from drillkit.results import CheckResult, RunOutcome, UntrustedResult

_HEADER = struct.Struct("!I")
TOKEN_LENGTH = 32  # hex digits
JOB_LIMIT = 1024 * 1024
RESULT_LIMIT = 4 * 1024 * 1024  # far below RLIMIT_FSIZE, so the worker can always write it
_FIELDS = tuple(f for f in CheckResult.__dataclass_fields__)


def _surrogate_or_replacement(error: UnicodeError) -> tuple[str, int]:
    """Decoding learner output: a lone surrogate the worker wrote with "surrogatepass" comes
    back as itself; any other bad byte becomes U+FFFD."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    try:
        return codecs.lookup_error("surrogatepass")(error)
    except UnicodeDecodeError:
        return "\ufffd", error.start + 1


codecs.register_error("drillkit-output", _surrogate_or_replacement)


def decode_output(data: bytes) -> str:
    """What the learner's code printed, as text: exact, lone surrogates included."""
    return data.decode("utf-8", "drillkit-output")


def new_token() -> str:
    return os.urandom(TOKEN_LENGTH // 2).hex()


def encode_job(job: dict[str, Any], token: str) -> bytes:
    body = json.dumps(job).encode("utf-8")
    return _HEADER.pack(len(body)) + body + token.encode("ascii")


def read_job(fd: int) -> dict[str, Any] | None:
    """The job, leaving the token in the pipe; None when the CLI closed it without one."""
    header = _read_exactly(fd, _HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    if size > JOB_LIMIT:
        return None
    body = _read_exactly(fd, size)
    return json.loads(body) if len(body) == size else None


def take_token(fd: int) -> str:
    """The token, read once; "" if something else already took it (the CLI then says so)."""
    try:
        token = _read_exactly(fd, TOKEN_LENGTH + 1)
        os.close(fd)
    except OSError:  # learner code closed or replaced the descriptor
        return ""
    return token.decode("ascii", errors="replace") if len(token) == TOKEN_LENGTH else ""


def _read_exactly(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    while size > 0:
        chunk = os.read(fd, size)
        if not chunk:
            break
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def encode_result(outcome: RunOutcome, token: str) -> bytes:
    """The report as the worker writes it (no dataclasses.asdict: fewer things to patch)."""
    results = [{name: getattr(r, name) for name in _FIELDS} for r in outcome.results]
    statements, check_statements = list(outcome.statements), list(outcome.check_statements)

    def dump() -> bytes:
        payload = {
            "token": token,
            "results": results,
            "statements": statements,
            "check_statements": check_statements,
        }
        return json.dumps(payload).encode("utf-8")

    data = dump()
    while len(data) > RESULT_LIMIT and (statements or check_statements):
        # Pathological SQL volume: the first statements are the telling ones.
        statements, check_statements = (
            statements[: len(statements) // 2],
            check_statements[: len(check_statements) // 2],
        )
        data = dump()
    if len(data) > RESULT_LIMIT:
        results = [{k: v[:4000] if isinstance(v, str) else v for k, v in r.items()} for r in results]
        data = dump()
    return data


def write_result(fd: int, data: bytes) -> None:
    """Whatever learner code left in the file is replaced, not appended to."""
    os.ftruncate(fd, 0)
    offset = 0
    while offset < len(data):
        offset += os.pwrite(fd, data[offset:], offset)


def read_result(fd: int) -> bytes:
    """What the worker left: at most RESULT_LIMIT + 1 bytes, so an oversized file is seen as such."""
    parts: list[bytes] = []
    offset = 0
    while offset <= RESULT_LIMIT:
        chunk = os.pread(fd, RESULT_LIMIT + 1 - offset, offset)
        if not chunk:
            break
        parts.append(chunk)
        offset += len(chunk)
    return b"".join(parts)


def parse_result(raw: bytes, token: str, expected_checks: list[str] | None) -> RunOutcome:
    """The worker's report, validated; raises UntrustedResult for anything else."""
    if len(raw) > RESULT_LIMIT:
        raise UntrustedResult(f"the report is larger than {RESULT_LIMIT} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise UntrustedResult("the report is not valid JSON") from None
    if not isinstance(data, dict) or data.pop("token", None) != token or not token:
        raise UntrustedResult("the report does not carry this run's secret token")
    return RunOutcome.from_untrusted(data, expected_checks)
