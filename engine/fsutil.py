"""One way to write files safely: to a temporary file (or folder) beside the target, then rename.

A crash, a kill -9 or a full disk at any moment leaves either the old file or the new one, never half
of one. Every write of a model, checkpoint, take or export goes through here.

    atomic_write_text(path, text)
    with atomic_path(path) as tmp:        # write to tmp (any writer: soundfile, safetensors, ...)
        save_file(tensors, str(tmp))
    with atomic_dir(folder) as tmp_dir:   # fill a folder; it replaces `folder` when complete
        ...
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto `path` when the block succeeds.

    The temporary name keeps the target's suffix (writers such as soundfile choose the format by it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix if suffix is not None else path.suffix,
                                    dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if tmp.exists():
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; files follow the umask
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj, indent: int | None = 2) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=indent) + "\n")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, tmp_prefix: str | None = None) -> Iterator[Path]:
    """Yield an empty hidden folder beside `path`; when the block succeeds it replaces `path` whole.

    The hidden folder starts with '.' so listings of complete folders never see it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=tmp_prefix or f".tmp-{path.name}-", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp makes 0700; a model folder is readable like any file
        for f in tmp.iterdir():
            if f.is_file():
                os.chmod(f, 0o644)
        if path.exists():
            old = path.with_name(f".old-{path.name}-{os.getpid()}")
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
