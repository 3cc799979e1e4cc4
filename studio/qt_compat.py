"""A guard against a reference-counting bug of PySide6 6.12.0 on Python older than 3.12.

That release returns None and True from many calls (every void method, Signal.emit, connect) without
taking a new reference, a shortcut that is only safe where those objects are immortal (Python 3.12+).
On Python 3.11 every such call takes one reference away; after some ten thousand calls (seconds of
painting) the interpreter aborts with "Fatal Python error: none_dealloc: deallocating None".

`apply()` checks for the leak with a few harmless calls and, only where it is found, gives None, True
and False a reference count so large that they behave as the immortal objects PySide6 assumes. The
proper fix is a PySide6 without the bug (6.11.x, or a later fixed release), or Python 3.12+.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger("prufrock.studio")
_IMMORTAL = 1 << 60
_applied: bool | None = None


def leaks_references() -> bool:
    """True when void PySide6 calls take a reference from None (measured, not guessed)."""
    from PySide6.QtCore import QTimer

    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(200):
        timer.setInterval(5)
    return before - sys.getrefcount(None) >= 150


def apply() -> bool:
    """Protect None/True/False where needed. -> True when the protection was applied."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if sys.version_info >= (3, 12) or hasattr(sys, "gettotalrefcount") or sys.implementation.name != "cpython":
        return False  # immortal already, or a debug build whose object layout differs
    if not leaks_references():
        return False
    import PySide6

    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value = _IMMORTAL
    log.warning("PySide6 %s leaks references to None/True on Python %d.%d; the studio protects itself, "
                "but PySide6-Essentials 6.11.x is the better choice", PySide6.__version__, *sys.version_info[:2])
    _applied = True
    return True
