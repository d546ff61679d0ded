"""The server's private files in the config folder: the token, the pidfile and the state file.

Why so careful: whoever can plant or redirect these files controls the server. A token planted by
another user would let them in; a symlinked token or pidfile would make the server read (and
hand out as its token) or overwrite a file it points to. So the folder is created 0700, new files
are created with O_EXCL|O_NOFOLLOW (never through a link, never over an existing file), and an
existing file that is a link, belongs to someone else or is open to others is refused with a
one-line message that says how to fix it.
"""
from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from adastyle.errors import UserError


class UnsafeFileError(UserError):
    """A config file or folder the server must not trust (a link, someone else's, open to others)."""


def _fix_hint(path: Path, is_dir: bool) -> str:
    mode = "700" if is_dir else "600"
    return f"check it, then run `chmod {mode} {path}` (or remove it and let AdaStyle make a new one)"


def _check(st: os.stat_result, path: Path, private_read: bool) -> None:
    is_dir = stat.S_ISDIR(st.st_mode)
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise UnsafeFileError(f"{path} belongs to another user (uid {st.st_uid}): refusing to use it; "
                              f"remove it or set ADASTYLE_HOME to a folder of your own")
    open_bits = 0o077 if private_read else 0o022
    if st.st_mode & open_bits:
        kind = "readable or writable" if private_read else "writable"
        raise UnsafeFileError(f"{path} is {kind} by other users (mode {stat.S_IMODE(st.st_mode):o}): "
                              + _fix_hint(path, is_dir))


def check_parents(folder: Path) -> None:
    """Every folder above the config folder must keep others out of it: owned by us or root, and not writable
    by others unless sticky (like /tmp, where others cannot rename what is ours).

    Why: whoever can write to a parent can rename the config folder away and put one of theirs in its place,
    with a token of their choosing; checking the folder alone does not see that.
    """
    if not hasattr(os, "geteuid"):
        return
    for parent in folder.absolute().parents:
        try:
            st = parent.stat()
        except OSError:
            continue  # not made yet: private_dir creates it with our own umask
        if st.st_uid not in (0, os.geteuid()):
            raise UnsafeFileError(f"{parent}, above the config folder {folder}, belongs to another user "
                                  f"(uid {st.st_uid}): set ADASTYLE_HOME to a folder of your own")
        if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
            raise UnsafeFileError(f"{parent}, above the config folder {folder}, is writable by every user "
                                  f"(mode {stat.S_IMODE(st.st_mode):o}), so another user could replace the "
                                  f"config folder: run `chmod o-w {parent}`, or set ADASTYLE_HOME to a private folder")


def private_dir(folder: Path) -> Path:
    """The config folder, created 0700; an existing one must be ours and not writable by others, and so must
    every folder above it be (see check_parents)."""
    check_parents(folder)
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    st = folder.stat()
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeFileError(f"{folder} is not a folder: remove it or set ADASTYLE_HOME to a folder")
    _check(st, folder, private_read=False)
    if st.st_mode & 0o077:
        os.chmod(folder, 0o700)  # ours and not writable by others: just close it
    return folder


def _open_checked(path: Path, flags: int, private_read: bool, verb: str = "follow") -> int | None:
    """An fd on a regular file of ours, never through a link (None when there is no file and flags make none)."""
    if path.is_symlink():
        raise UnsafeFileError(f"{path} is a symbolic link: refusing to {verb} it; remove it "
                              "(AdaStyle makes a new one)")
    try:
        fd = os.open(str(path), flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0), 0o600)
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP: a link swapped in between the check and the open
        raise UnsafeFileError(f"{path}: cannot open it safely ({exc.strerror}); remove it") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFileError(f"{path} is not a regular file: remove it")
        _check(st, path, private_read)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_existing(path: Path, private_read: bool) -> int | None:
    """A read-only fd on an existing regular file of ours (None when there is no file)."""
    return _open_checked(path, os.O_RDONLY, private_read)


def read_private(path: Path, private_read: bool = True) -> str | None:
    """The text of an existing private file, None when it does not exist; UnsafeFileError when unsafe."""
    fd = _open_existing(path, private_read)
    if fd is None:
        return None
    with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as f:
        return f.read()


def read_private_bytes(path: Path) -> bytes | None:
    """The bytes of an existing private file (a library image), None when it does not exist."""
    fd = _open_existing(path, private_read=False)
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read()


def create_private(path: Path, text: str | bytes) -> None:
    """Write a new 0600 file; never follows a link and never writes over an existing file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(str(path), flags, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(text.encode("utf-8") if isinstance(text, str) else text)


def write_private(path: Path, text: str | bytes) -> None:
    """Replace a private file (pidfile, state) atomically: a fresh 0600 file renamed over the old one.

    An existing file that is a link or someone else's is refused rather than replaced, so a planted
    file is noticed instead of silently trusted by the next reader.
    """
    fd = _open_existing(path, private_read=False)
    if fd is not None:
        os.close(fd)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    create_private(tmp, text)
    os.replace(tmp, path)


def open_private_append(path: Path) -> int:
    """An fd appending to a file of ours, the log or the lock (created 0600); a link, someone else's file or one
    others may write to is refused with UnsafeFileError, as for the other private files."""
    fd = _open_checked(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, private_read=False, verb="write through")
    assert fd is not None  # O_CREAT: there is a file now
    return fd


def remove_private(path: Path) -> None:
    """Remove a file of ours (a link is removed, never its target)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def load_or_create_token(folder: Path) -> str:
    """The server token, created on first start (random, 0600, O_EXCL|O_NOFOLLOW)."""
    private_dir(folder)
    path = folder / "token"
    text = read_private(path)
    if text is not None and text.strip():
        return text.strip()
    if text is not None:
        remove_private(path)  # an empty token file of ours: make a new one
    token = secrets.token_urlsafe(32)
    try:
        create_private(path, token + "\n")
    except FileExistsError:  # another server start won the race: use its token
        return (read_private(path) or "").strip() or load_or_create_token(folder)
    return token
