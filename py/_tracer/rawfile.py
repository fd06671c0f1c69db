"""The raw file's bytes: a file mapped MAP_SHARED that grows by reserved segments (docs/internals.md,
section 2a). It knows records and blocks, not what is in them (writer.py does).

Every store into the mapping is in the kernel's page cache at once, so whatever ends the process
(SIGKILL included) the file keeps it. Space is reserved with posix_fallocate before it is mapped,
so a full disk is an OSError here, never a SIGBUS in a recording callback.
"""

import errno
import mmap
import os
import sys
from _struct import Struct

_os_open = os.open
_os_close = os.close
_os_fstat = os.fstat
_os_ftruncate = os.ftruncate
_fallocate = getattr(os, "posix_fallocate", None)
_mmap = mmap.mmap
# MADV_POPULATE_WRITE (Linux 5.14+; the module names it from 3.13): a segment's pages are made
# present and writable when it is mapped, in one call, rather than by two page faults at the
# first store into each (one to map the page, one to mark it dirty).
_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23) if sys.platform == "linux" else None
_PROT = mmap.PROT_READ | mmap.PROT_WRITE
_OPEN_FLAGS = os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
# The file is kept on a descriptor this high (when the limit allows), so the program's own files
# get the numbers they get untraced.
_HIGH_FD = 960

MAGIC = b"TRACER-RAW 2\n\0\0\0"  # 16 bytes: records start 8-aligned
HEAD_BYTES = 8
FIRST_SEGMENT = 1 << 20
LARGEST_SEGMENT = 32 << 20
# The end of every segment only the end record may use: on a full disk (no next segment) the
# process still ends with its tracerEnd, which says what was lost.
END_RESERVE = 16 << 10


def _map_with_mmap_module(fd, offset, size):
    """A segment mapped by the mmap module: a writable memoryview, valid for the process's life.

    Before 3.13 (no trackfd) the mmap object keeps a duplicate of the descriptor, on the lowest
    free number, which the program would otherwise get: only when nothing better is at hand.
    """
    extra = {"trackfd": False} if sys.version_info >= (3, 13) else {}
    segment = _mmap(fd, size, mmap.MAP_SHARED, _PROT, offset=offset, **extra)
    if _POPULATE_WRITE is not None:
        try:
            segment.madvise(_POPULATE_WRITE)
        except OSError:  # an older kernel: the pages come one fault at a time
            pass
    _kept.append(segment)  # never closed, never collected: blocks point into it
    return memoryview(segment)


def _map_with_ctypes(fd, offset, size):
    """A segment mapped by libc's mmap through ctypes (3.8-3.12 without the native core): no
    duplicate descriptor is kept."""
    address = _libc_mmap(None, size, _PROT, mmap.MAP_SHARED, fd, offset)
    if address is None or address == _MAP_FAILED:
        import ctypes

        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    if _POPULATE_WRITE is not None:
        _libc_madvise(address, size, _POPULATE_WRITE)  # an older kernel: EINVAL, no harm
    array = (_c_char * size).from_address(address)
    _kept.append(array)
    return memoryview(array).cast("B")


def _python_mapper():
    """How this process maps segments when the native core does not (see map_segment)."""
    global _libc_mmap, _libc_madvise, _MAP_FAILED, _c_char
    if sys.version_info >= (3, 13) or sys.platform != "linux":
        return _map_with_mmap_module
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        _libc_mmap = libc.mmap
        _libc_mmap.restype = ctypes.c_void_p
        _libc_mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                               ctypes.c_int, ctypes.c_long)
        _libc_madvise = libc.madvise
        _libc_madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        _MAP_FAILED = ctypes.c_void_p(-1).value
        _c_char = ctypes.c_char
    except (ImportError, OSError, AttributeError):
        return _map_with_mmap_module
    return _map_with_ctypes


_kept = []  # the mappings' owners, kept for the process's life
_libc_mmap = _libc_madvise = _MAP_FAILED = _c_char = None
# map_segment(fd, offset, size) -> writable memoryview; the native core sets its own (use_mapper)
_map_segment = None


def use_mapper(map_segment):
    """Maps segments with `map_segment(fd, offset, size)` from now on (the native library's)."""
    global _map_segment
    _map_segment = map_segment


def align8(size):
    """`size` rounded up to a multiple of 8."""
    return (size + 7) & ~7


_HEAD = Struct("<BxxxI")  # kind byte, three zero bytes, payload size


def record_head(kind, size):
    """A record's 8-byte head: kind byte, three zero bytes, payload size (u32 little-endian)."""
    return kind + b"\0\0\0" + size.to_bytes(4, "little")


def create(output_dir, pid):
    """Creates result_<pid>.raw, or result_<pid>_<k>.raw when taken; returns (RawFile, name)."""
    flags = _OPEN_FLAGS | os.O_CREAT | os.O_EXCL
    k = 0
    while True:
        name = "result_%d.raw" % pid if k == 0 else "result_%d_%d.raw" % (pid, k)
        path = os.path.join(output_dir, name)
        try:
            fd = _os_open(path, flags, 0o644)
        except FileExistsError:
            k += 1
            continue
        return RawFile(_out_of_the_way(fd), path), name


def _out_of_the_way(fd):
    """Moves `fd` to a high number (closing the low one), where the program does not look."""
    try:
        import fcntl

        high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD)
    except (ImportError, OSError, AttributeError):
        return fd  # no room up there (a low RLIMIT_NOFILE): keep it where it is
    _os_close(fd)
    return high


def _identity(fd):
    info = _os_fstat(fd)
    return info.st_dev, info.st_ino


class RawFile:
    """One process's raw file: appends records and hands out blocks to fill in place.

    Not thread-safe: the writer calls it under its lock. Methods raise OSError when the file
    cannot grow (ENOSPC, EDQUOT, ...); what was stored before stays.
    """

    def __init__(self, fd, path):
        self.fd = fd
        self.path = path
        self._identity = _identity(fd)
        self._map = None  # the last segment: a writable memoryview of its bytes
        self._map_start = 0  # its offset in the file
        self._map_end = 0
        self.size = 0  # bytes of records so far: the next record's offset

    def append(self, kind, payload, final=False):
        """Appends one whole record: its payload is stored before its head (docs, 2a). `final`:
        the end record, which may use the segment's END_RESERVE."""
        size = len(payload)
        offset = self.size
        end = offset + ((HEAD_BYTES + size + 7) & ~7)
        if final or end > self._map_end - END_RESERVE:  # (the common case inlines _reserve)
            offset = self._reserve(HEAD_BYTES + size, END_RESERVE if final else 0)
        else:
            self.size = end
        start = offset - self._map_start
        view = self._map
        view[start + HEAD_BYTES:start + HEAD_BYTES + size] = payload
        _HEAD.pack_into(view, start, kind[0], size)

    def block(self, kind, size):
        """Appends a record of `size` zero bytes of payload; returns a writable memoryview of the
        whole record (bytes: its 8-byte head, then the payload), valid for the process's life."""
        offset = self._reserve(HEAD_BYTES + size)
        start = offset - self._map_start
        self._map[start:start + HEAD_BYTES] = record_head(kind, size)
        return self._map[start:start + HEAD_BYTES + size]

    def room(self):
        """The largest payload a record can have without a new segment (0 before the first)."""
        return max(0, self._map_end - END_RESERVE - self.size - HEAD_BYTES) & ~7

    def _reserve(self, length, reserve=0):
        """The offset of `length` bytes (8-aligned) of zeros past the last record, with `reserve`
        bytes of the segment's END_RESERVE usable."""
        length = align8(length)
        offset = self.size
        if offset + length > self._map_end - END_RESERVE + reserve:
            last, last_start, last_end = self._map, self._map_start, self._map_end
            self._grow(length + len(MAGIC) + END_RESERVE)
            if offset < last_end:  # the rest of the last segment is too small: a P record
                last[offset - last_start:offset - last_start + HEAD_BYTES] = (
                    record_head(b"P", last_end - offset - HEAD_BYTES)
                )
            offset = self.size
        self.size = offset + length
        return offset

    def _grow(self, needed):
        """Maps a new segment of at least `needed` bytes at the end of the file."""
        start = self._map_end
        size = max(FIRST_SEGMENT, min(start, LARGEST_SEGMENT))
        size = max(size, (needed + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE)
        fd = self.own_fd()
        if _fallocate is not None:
            _fallocate(fd, start, size)
        else:  # pragma: no cover - every Linux Python has it
            _os_ftruncate(fd, start + size)
        global _map_segment
        if _map_segment is None:
            _map_segment = _python_mapper()
        segment = _map_segment(fd, start, size)
        self._map = segment
        self._map_start = start
        self._map_end = start + size
        self.size = start
        if start == 0:
            segment[:len(MAGIC)] = MAGIC
            self.size = len(MAGIC)

    def finish(self):
        """Cuts the file after its last record (the reserved zeros go) and closes it. Blocks
        stay mapped: a thread still storing into one stores below the cut."""
        try:
            _os_ftruncate(self.own_fd(), self.size)
        finally:
            self.close()

    def close(self):
        """Closes the descriptor (unless the program reused its number)."""
        try:
            if _identity(self.fd) == self._identity:
                _os_close(self.fd)
        except OSError:
            pass

    def own_fd(self):
        """The file's descriptor, opened again if the program closed it or reused its number."""
        try:
            if _identity(self.fd) == self._identity:
                return self.fd
        except OSError:
            pass
        # The number is the program's now (or free): never write, truncate or close it.
        fd = _os_open(self.path, _OPEN_FLAGS)
        try:
            if _identity(fd) != self._identity:
                raise OSError(errno.ENOENT, "the trace file was replaced", self.path)
        except OSError:
            _os_close(fd)
            raise
        self.fd = _out_of_the_way(fd)
        return self.fd
