"""Model-supplied paths: where they really lead, whether the agent may use them, and
the only way a tool opens one.

A path the model sends is untrusted, and so is the workspace it points into: a cloned
repository may hold symlinks out of the workspace or into ``.kilocodeignore``d files,
FIFOs that block a reader forever, device files that never end, names longer than the
filesystem allows. :class:`WorkspacePaths` turns a raw path into a :class:`Target`
(lexical and real location, inside or outside the workspace) and answers every
question a tool has about it:

- may it be touched at all (``.kilocodeignore``, checked on the path as given *and*
  where it really leads; kilo-tui's own config and data are never the agent's);
- reading: only regular files, opened without blocking, at most a bounded number of
  bytes (:func:`read_regular`);
- writing: the containment the user approved is re-checked when the write happens.
  Every directory on the way is opened with ``O_NOFOLLOW`` from a trusted root, and
  the file is replaced by a rename in that directory, so a symlink swapped in during
  the review cannot redirect the write (:func:`write_regular`).

Which workspace files configure the agent itself (writes to them always need more than
``write = true``) is decided here too: :func:`is_protected_path`, :func:`is_git_path`.

Tools get a :class:`WorkspacePaths` in their context and never re-implement these
checks; every refusal is a :class:`PathRefused`, a tool error the model can read.
"""

from __future__ import annotations

import contextlib
import errno
import os
import posixpath
import secrets
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import TYPE_CHECKING

from pathspec import GitIgnoreSpec

from kilo_tui.core.tools.base import ToolError

if TYPE_CHECKING:
    from kilo_tui.core.trust.ignore import IgnoreMatcher

MAX_READ_BYTES = 16 * 1024 * 1024
"""The most any tool reads of one file; a larger file is read up to here."""

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class PathRefused(ToolError):
    """The path may not be used, or cannot be opened safely; the message says why."""


# ------------------------------------------------------------------ targets


@dataclass(frozen=True)
class Target:
    """A model-supplied path, resolved.

    ``lexical`` is the absolute path as given (``..`` folded, links kept); ``real`` is
    where it leads once every symlink is followed. ``rel`` is ``real`` relative to the
    workspace (``""`` for the workspace itself), or ``None`` when it is outside.
    """

    lexical: Path
    real: Path
    rel: str | None

    @property
    def outside(self) -> bool:
        return self.rel is None

    @property
    def shown(self) -> str:
        """How to name the path to the model and the user."""
        if self.rel is None:
            return str(self.real)
        return self.rel or "."


class WorkspacePaths:
    """Resolves and guards the paths of one workspace (see the module docstring)."""

    def __init__(
        self,
        workspace: Path,
        ignore: IgnoreMatcher | None = None,
        *,
        private: Sequence[Path] | None = None,
    ) -> None:
        from kilo_tui.core.trust.ignore import IgnoreMatcher

        self.workspace = Path(workspace).resolve()
        self.ignore = ignore or IgnoreMatcher(self.workspace)
        roots = _private_roots() if private is None else private
        # kilo-tui's own directories, unless the user works inside one of them.
        self._private = tuple(
            r for r in (Path(p).resolve() for p in roots) if not self.workspace.is_relative_to(r)
        )
        # Those a walk of the workspace could reach (kilo-tui run in $HOME, say).
        self._private_inside = tuple(r for r in self._private if r.is_relative_to(self.workspace))

    # ------------------------------------------------------------ resolving

    def resolve(self, raw: str | os.PathLike[str]) -> Target:
        """The :class:`Target` for a model-given path (relative to the workspace, or
        absolute, or ``~/…``); raises :class:`PathRefused` for an empty path, a name
        too long for the filesystem, a symlink loop, or kilo-tui's own files."""
        text = os.fspath(raw).strip()
        if not text:
            raise PathRefused("path must not be empty")
        if "\x00" in text:
            raise PathRefused("path must not contain NUL characters")
        candidate = Path(text).expanduser()
        if not candidate.is_absolute():
            candidate = self.workspace / candidate
        return self.target(candidate)

    def target(self, path: Path) -> Target:
        """The :class:`Target` for an absolute path (a listing entry, say)."""
        lexical = Path(os.path.normpath(path))
        _check_name_lengths(lexical)
        real = Path(os.path.realpath(lexical))
        if os.path.islink(real):
            raise PathRefused(f"{self._show(lexical)} is a symbolic link that loops")
        rel = _relative(real, self.workspace)
        target = Target(lexical, real, rel)
        for root in self._private:
            if real.is_relative_to(root):
                raise PathRefused(
                    f"{target.shown} is inside kilo-tui's own configuration and data "
                    f"({root}): API keys, approvals and sessions. The agent may not read or "
                    "change it; the user can, with `kilo-tui config`."
                )
        return target

    def _show(self, path: Path) -> str:
        rel = _relative(path, self.workspace)
        return str(path) if rel is None else rel or "."

    # ----------------------------------------------------------- permission

    def is_blocked(self, target: Target) -> bool:
        """True if ``.kilocodeignore`` blocks the path as given or where it leads."""
        as_given = _relative(target.lexical, self.workspace) is not None
        if as_given and self.ignore.is_kilocode_ignored(target.lexical):
            return True
        return not target.outside and self.ignore.is_kilocode_ignored(target.real)

    def check_access(self, target: Target, action: str = "Access to") -> None:
        """Raise :class:`PathRefused` if ``.kilocodeignore`` blocks ``target``."""
        if self.is_blocked(target):
            raise PathRefused(
                f"{action} {self._show(target.lexical)} is blocked by the .kilocodeignore file."
            )

    def root_of(self, target: Target) -> Path:
        """The trusted directory a no-follow open of ``target.real`` starts from."""
        return Path("/") if target.outside else self.workspace

    # -------------------------------------------------------------- reading

    def read(self, target: Target, limit: int = MAX_READ_BYTES) -> Read:
        """Read a regular file (``PathRefused`` for anything else, or if missing)."""
        result = read_regular(target.real, root=self.root_of(target), limit=limit)
        if result is None:
            raise PathRefused(f"File not found: {target.shown}")
        return result

    def read_if_exists(self, target: Target, limit: int = MAX_READ_BYTES) -> Read | None:
        return read_regular(target.real, root=self.root_of(target), limit=limit)

    def readable_files(
        self,
        root: Target,
        *,
        limit: int,
        recursive: bool = True,
        wanted: Callable[[str], bool] | None = None,
    ) -> Iterator[tuple[str, Read]]:
        """``(workspace-relative path, content)`` of the files a search may read under
        ``root``: not ignored, not leading out of the workspace or into a blocked file,
        regular, and at most ``limit`` bytes; anything else is skipped. A ``root`` that is
        not a directory is read itself, and raises :class:`PathRefused` if it cannot be.
        ``recursive=False`` keeps to the files directly in ``root``; ``wanted`` picks
        files by name before anything is opened."""
        if not os.path.isdir(root.real):  # one file: say why it cannot be searched
            self.check_access(root)
            single = self.read(root, limit)
            if not single.truncated:
                yield root.shown, single
            return
        try:  # an unreadable root is an error; unreadable directories below are skipped
            os.scandir(root.real).close()
        except OSError as exc:
            raise _refusal(exc, root.shown, "searched") from exc
        for path in self.ignore.walk(root.real, recursive=recursive):
            if wanted is not None and not wanted(path.name):
                continue
            content = self._read_walked(path, limit)
            if content is not None and not content.truncated:
                yield self._show(path), content

    def _read_walked(self, path: Path, limit: int) -> Read | None:
        """A file the ignore walk yielded, or None if it may not or cannot be read.

        The walk stays inside the workspace, prunes ignored paths and never enters a
        linked directory, so a regular file needs no more checks; only a link is
        resolved and checked like any model-given path.
        """
        if any(path.is_relative_to(r) for r in self._private_inside):
            return None
        try:
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                target = self.target(path)
                if target.outside or self.is_blocked(target):
                    return None
                return self.read_if_exists(target, limit)
            if not stat.S_ISREG(mode):
                return None
            return _read_fd(os.open(path, _READ_FLAGS), str(path), limit)
        except (OSError, PathRefused):
            return None


@dataclass(frozen=True)
class Read:
    """Bytes read from a regular file; ``truncated`` when the file held more."""

    data: bytes
    size: int
    truncated: bool


def _relative(path: Path, base: Path) -> str | None:
    try:
        text = path.relative_to(base).as_posix()
    except ValueError:
        return None
    return "" if text == "." else text


def _check_name_lengths(path: Path) -> None:
    for part in path.parts:
        if len(os.fsencode(part)) > 255:
            raise PathRefused(
                f"The name {part[:40]}… is too long for the file system "
                f"({len(os.fsencode(part))} bytes; at most 255)."
            )


def _private_roots() -> list[Path]:
    from kilo_tui.core import paths

    return [paths.config_dir(), paths.data_dir()]


# ------------------------------------------------------ opening, no follow


def _walk_dirs(root: Path, parts: Sequence[str], *, create: bool = False) -> int:
    """An fd of ``root/parts…``, every component opened without following a link.

    ``root`` is trusted (the workspace, or ``/``); a component that is a symlink, or
    not a directory, raises OSError (ELOOP / ENOTDIR). With ``create`` missing
    directories are made.
    """
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            if part in ("", ".", ".."):
                raise OSError(errno.EINVAL, f"unexpected path component {part!r}")
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(part, 0o777, dir_fd=fd)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _split(path: Path, root: Path) -> tuple[list[str], str]:
    try:
        parts = PurePath(path).relative_to(root).parts
    except ValueError as exc:
        raise OSError(errno.EXDEV, f"{path} is not under {root}") from exc
    if not parts:
        raise OSError(errno.EISDIR, "is a directory")
    return list(parts[:-1]), parts[-1]


def _refusal(exc: OSError, shown: str, verb: str = "read") -> PathRefused:
    code = exc.errno
    if code == errno.ENOENT:
        text = f"File not found: {shown}"
    elif code == errno.EISDIR:
        text = f"{shown} is a directory; use list_files to see its contents"
    elif code == errno.ENOTDIR:
        text = f"{shown}: a part of the path is not a directory"
    elif code == errno.ELOOP:
        text = (
            f"{shown} is (or goes through) a symbolic link that loops or changed "
            f"meanwhile; it was not {verb}"
        )
    elif code == errno.ENAMETOOLONG:
        text = f"The name {shown[:60]}… is too long for the file system"
    elif code in (errno.EACCES, errno.EPERM):
        text = f"Permission denied: {shown} cannot be {verb}"
    else:
        text = f"Cannot open {shown}: {exc.strerror or exc}"
    return PathRefused(text)


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device file"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link that changed meanwhile"
    return "not a regular file"


def _not_regular(shown: str, mode: int) -> PathRefused:
    kind = _kind(mode)
    if kind == "a directory":
        return PathRefused(f"{shown} is a directory; use list_files to see its contents")
    return PathRefused(f"{shown} is {kind}, not a regular file; it cannot be read or edited")


def read_regular(path: Path, *, root: Path, limit: int = MAX_READ_BYTES) -> Read | None:
    """Read at most ``limit`` bytes of the regular file ``path`` (``None`` if missing).

    Opened from ``root`` without following any link below it (``path`` must already
    be resolved), non-blocking, and only after ``lstat`` says it is a regular file:
    FIFOs, devices and sockets are refused without being opened. Raises
    :class:`PathRefused`.
    """
    shown = str(path)
    try:
        parents, name = _split(path, root)
        dir_fd = _walk_dirs(root, parents)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _refusal(exc, shown) from exc
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(shown, info.st_mode)
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _refusal(exc, shown) from exc
    finally:
        os.close(dir_fd)
    return _read_fd(fd, shown, limit)


def _read_fd(fd: int, shown: str, limit: int) -> Read:
    """Read at most ``limit`` bytes from ``fd`` if it is a regular file; closes it."""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped between lstat and open
            raise _not_regular(shown, info.st_mode)
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0 and (chunk := os.read(fd, min(remaining, 1 << 20))):
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as exc:
        raise _refusal(exc, shown) from exc
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return Read(data[:limit], max(info.st_size, len(data)), len(data) > limit)


def write_regular(path: Path, data: bytes | None, *, root: Path) -> None:
    """Replace (or with ``None`` delete) the file ``path`` under the trusted ``root``.

    Every directory from ``root`` down is opened without following links (missing ones
    are created), so the write lands exactly at ``path`` or nowhere: a directory
    swapped for a symlink fails the write, and the file itself is replaced by a rename
    inside that directory, which never follows a link at the destination. An existing
    file keeps its permissions. Raises :class:`PathRefused`.
    """
    shown = str(path)
    try:
        parents, name = _split(path, root)
        dir_fd = _walk_dirs(root, parents, create=data is not None)
    except OSError as exc:
        raise _refusal(exc, shown, "written") from exc
    try:
        try:
            info: os.stat_result | None = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            info = None
        if info is not None and not stat.S_ISREG(info.st_mode):
            kind = _kind(info.st_mode)
            raise PathRefused(f"{shown} is now {kind}, not a regular file; nothing was written")
        if data is None:
            if info is not None:
                os.unlink(name, dir_fd=dir_fd)
            return
        mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
        _replace(dir_fd, name, data, mode)
    except OSError as exc:
        raise _refusal(exc, shown, "written") from exc
    finally:
        os.close(dir_fd)


def _replace(dir_fd: int, name: str, data: bytes, mode: int) -> None:
    tmp = f".{name[:200]}.{secrets.token_hex(4)}.kilo-tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, 0o600, dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# ------------------------------------------------------- protected locations

_PROTECTED = GitIgnoreSpec.from_lines(
    [
        ".kilocodeignore", ".kilocodemodes", ".kilocoderules*", ".kilocode/**",
        ".kilocodeprotected", ".rooignore", ".roomodes", ".roorules*", ".clinerules*",
        ".roo/**", ".vscode/**", ".rooprotected", "AGENTS.md", "AGENT.md",
    ]
)  # fmt: skip


def _normalize(rel_path: str) -> str:
    return posixpath.normpath(rel_path.replace("\\", "/")).lstrip("/")


def is_protected_path(rel_path: str) -> bool:
    """True for workspace files that configure the agent itself (need ``write_protected``).

    Kilo's protected patterns, with gitignore semantics: ``.kilocode/**``,
    ``.kilocodemodes``, ``.kilocodeignore``, ``.kilocoderules*``, their Roo/Cline
    equivalents, ``.vscode/**`` and ``AGENTS.md``/``AGENT.md`` (at any depth), plus
    everything :func:`is_git_path` names.
    """
    rel = _normalize(rel_path)
    return is_git_path(rel) or bool(_PROTECTED.match_file(rel))


def is_git_path(rel_path: str) -> bool:
    """True for a path with a component named ``.git`` (any case): a repository's
    config and hooks run code, in the workspace and in nested repositories alike, so
    writing there is never auto-approved."""
    return any(part.lower() == ".git" for part in _normalize(rel_path).split("/"))


def action_path(workspace: Path, path: str | os.PathLike[str]) -> tuple[str, bool]:
    """``(path as Action.path wants it, outside_workspace)`` for a model-given path.

    Relative paths are taken from the workspace; symlinks are resolved, so a link
    inside the workspace that points out of it counts as outside.
    """
    ws = Path(workspace).resolve()
    full = Path(os.path.realpath(ws / Path(path).expanduser()))
    rel = _relative(full, ws)
    return (str(full), True) if rel is None else (rel or ".", False)


def read_small_file(
    path: Path, limit: int = 1024 * 1024, *, within: Path | None = None
) -> bytes | None:
    """The first ``limit`` bytes of a settings-like file (an ignore file, a rules file),
    or ``None`` when it is missing, unreadable or not a regular file: a FIFO or a
    device planted under such a name must not hang or flood the reader. With
    ``within``, a file whose links lead outside that directory is not read either."""
    if within is not None and not Path(os.path.realpath(path)).is_relative_to(
        os.path.realpath(within)
    ):
        return None
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        fd = os.open(path, _READ_FLAGS & ~os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)
