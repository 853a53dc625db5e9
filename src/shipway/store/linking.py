"""Putting a local file into a local store without copying its bytes where the filesystem allows.

``link="auto"`` (the default) makes a reflink, a copy-on-write clone that is instant and
leaves the two files independent, where the filesystem has them (btrfs, xfs, bcachefs …),
and a kernel-side copy elsewhere. ``link="hardlink"`` is instant everywhere, but the stored
object and the original become one file on disk: both are made read-only, and editing the
original in place (as root, or after ``chmod``) would alter the stored version, which is then
refused on read. So hard links are opt-in, as in DVC.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

from shipway.errors import InvalidArgument

FICLONE = 0x40049409  # linux/fs.h: clone a whole file (btrfs, xfs, bcachefs …)
LINK_MODES = ("auto", "reflink", "hardlink", "copy")
_can_reflink: dict[int, bool] = {}


def reflink(source: Path, target: Path) -> None:
    with source.open("rb") as src, target.open("wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
        except OSError:
            dst.close()
            target.unlink(missing_ok=True)
            raise


def place(source: Path, target: Path, mode: str = "auto") -> str:
    """Make ``target`` hold ``source``'s bytes; returns how (reflink, hardlink or copy)."""
    if mode not in LINK_MODES:
        raise InvalidArgument(
            f"unknown link mode {mode!r}", hint=f"use one of: {', '.join(LINK_MODES)}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    device = os.stat(target.parent).st_dev
    if mode == "reflink" or (mode == "auto" and _can_reflink.get(device, True)):
        try:
            reflink(source, target)
            return "reflink"
        except OSError:
            if mode == "reflink":
                raise
            _can_reflink[device] = False  # don't pay for a failing clone on every file
    if mode == "hardlink":
        try:
            os.link(source, target)
            os.chmod(target, 0o444)  # a content-addressed object never changes
            return "hardlink"
        except OSError:
            if mode == "hardlink":
                raise
    shutil.copyfile(source, target)  # copy_file_range/sendfile: the kernel copies
    return "copy"
