# SPDX-License-Identifier: LGPL-2.1-or-later
"""multiprocessing's Queue, JoinableQueue and SimpleQueue on mpq.ko.

    import mpqdev
    q = mpqdev.JoinableQueue()      # instead of multiprocessing.JoinableQueue()
    q.put(obj); obj = q.get(); q.task_done(); q.join()

The queue lives in the kernel (/dev/mpq): put() is done when it returns
(no feeder thread, nothing buffered in the process), a process killed
inside put() or get() cannot corrupt the queue, qsize()/empty()/full() are
exact, and shutdown() ends the stream for every consumer at once.

Exceptions are queue.Empty, queue.Full, mpqdev.ShutDown (queue.ShutDown on
Python 3.13+) and ValueError (closed queue, task_done() called too often,
object too large). See Documentation/userspace-api/python.rst.
"""
import asyncio as _asyncio
import collections as _collections
import copyreg as _copyreg
import io as _io
import os as _os
import pickle as _pickle
import select as _select
from multiprocessing import context as _context
from multiprocessing import reduction as _reduction

from . import _mpqdev
from ._mpqdev import Empty, Full, ShutDown, __version__

__all__ = ["Queue", "JoinableQueue", "SimpleQueue", "open", "unlink",
           "Empty", "Full", "ShutDown", "MessageId", "parse_id",
           "parse_envelope"]


class _Pickler(_pickle.Pickler):
    """pickle.Pickler with ForkingPickler's reducers (kept in sync by C)."""


_mpqdev._setup(_Pickler, _copyreg.dispatch_table,
               _reduction.ForkingPickler._extra_reducers,
               _io.BytesIO, _pickle.loads, _pickle.dumps)

_DEV_DIR = "/dev/mpq"


def _rebuild_fd(cls, dupfd, name, access):
    # The parent's open file: on a redelivery queue the first use here
    # takes one of our own, so that what we take comes back if we die.
    q = cls(_fd=dupfd.detach(), _inherited=True)
    q._name = name
    q._access = access
    return q


def _rebuild_name(cls, name, access):
    q = cls(_fd=_os.open(_os.path.join(_DEV_DIR, name),
                         access | _os.O_CLOEXEC | _os.O_NOCTTY))
    q._name = name
    q._access = access
    return q


class _AsyncWaiters:
    """Futures of one event loop waiting for one readiness of one fd.

    asyncio keeps one reader and one writer callback per descriptor, so
    every coroutine of a loop waiting on a queue shares one registration:
    the callback wakes them all and each retries its non-blocking call.
    """

    __slots__ = ("loop", "fd", "write", "futures")

    def __init__(self, loop, fd, write):
        self.loop = loop
        self.fd = fd
        self.write = write
        self.futures = set()
        if write:
            loop.add_writer(fd, self._wake)
        else:
            loop.add_reader(fd, self._wake)

    def _wake(self):
        for fut in self.futures:
            if not fut.done():
                fut.set_result(None)

    def remove(self):
        if self.write:
            self.loop.remove_writer(self.fd)
        else:
            self.loop.remove_reader(self.fd)


class Queue(_mpqdev._Queue):
    """Queue(maxsize=0): multiprocessing.Queue in the kernel.

    maxsize <= 0 means no limit on the count of items. Items of any size up
    to the module's msgsize_limit (16 MiB by default) are accepted; their
    pickles also count against the queue's maxbytes (64 MiB by default).

    Pass it to a multiprocessing.Process as an argument under any start
    method (fork, spawn, forkserver), whatever context created it. An
    anonymous queue pickles only while a process is being spawned, its
    descriptor travelling with the child; a named queue (mpqdev.open())
    pickles by name anywhere.

    Besides multiprocessing's methods: shutdown(), fileno(), stat(),
    put_bytes()/get_bytes() for raw messages, put_many()/get_many() for
    batches, and the coroutines async_get()/async_put().
    """

    _name = None
    _access = _os.O_RDWR

    def __init__(self, maxsize=0, *, ctx=None, _fd=-1, _inherited=False):
        # ctx: accepted as multiprocessing.queues.Queue takes it; unused.
        super().__init__(maxsize, _fd=_fd, _inherited=_inherited)

    def __repr__(self):
        what = f"name={self._name!r}" if self._name else "anonymous"
        state = " closed" if self._closed else ""
        return f"<{type(self).__module__}.{type(self).__qualname__} {what}{state}>"

    def __reduce__(self):
        if _context.get_spawning_popen() is not None:
            return (_rebuild_fd, (type(self), _reduction.DupFd(self.fileno()),
                                  self._name, self._access))
        if self._name is not None:
            return (_rebuild_name, (type(self), self._name, self._access))
        _context.assert_spawning(self)

    @property
    def name(self):
        """The name of a named queue (/dev/mpq/NAME), None if anonymous."""
        return self._name

    # asyncio: readiness of the descriptor, no thread per waiter.

    async def _wait_fd(self, fd, write):
        loop = _asyncio.get_running_loop()
        try:
            table = self.__dict__["_async_waiters"]
        except KeyError:
            table = self.__dict__.setdefault("_async_waiters", {})
        key = (id(loop), fd, write)
        w = table.get(key)
        if w is None or w.loop is not loop:
            w = table[key] = _AsyncWaiters(loop, fd, write)
        fut = loop.create_future()
        w.futures.add(fut)
        try:
            await fut
        finally:
            w.futures.discard(fut)
            if not w.futures and table.get(key) is w:
                del table[key]
                w.remove()

    async def async_get(self):
        """await q.async_get(): get() for asyncio, waiting on EPOLLIN.

        Raises ShutDown at the end of the stream. No thread is used: the
        running loop watches the queue's descriptor.
        """
        while True:
            try:
                return self.get_nowait()
            except Empty:
                pass
            await self._wait_fd(self.fileno(), False)

    async def async_get_bytes(self):
        """await q.async_get_bytes(): get_bytes() for asyncio."""
        while True:
            try:
                return self.get_bytes(False)
            except Empty:
                pass
            await self._wait_fd(self.fileno(), False)

    async def async_put(self, obj):
        """await q.async_put(obj): put() for asyncio, waiting on EPOLLOUT.

        obj is pickled once, at the call, so errors show at once.
        """
        data = _mpqdev._dumps(obj)
        while True:
            try:
                return self.put_bytes(data, False)
            except Full:
                pass
            await self._wait_fd(self.fileno(), True)


class JoinableQueue(Queue, _mpqdev._JoinableQueue):
    """JoinableQueue(maxsize=0, *, redeliver=False, max_deliveries=0,
    dead_letter=None): multiprocessing.JoinableQueue in the kernel.

    The count of unfinished tasks is kept by the kernel: every put() adds
    one, task_done() removes one, join() waits for none to be left, in
    every process at once.

    redeliver=True: an item a process got is that process's until its
    task_done(); if the process dies first (even by SIGKILL), or gives it
    back with nack(), the item goes back to the head of the queue for the
    others, so join() never hangs on a dead worker. get_counted() tells
    how many times an item was delivered. max_deliveries (0: no limit)
    caps redelivery: past it an item goes to the named queue dead_letter,
    or is dropped, and counts as done.
    """

    def __init__(self, maxsize=0, *, ctx=None, redeliver=False,
                 max_deliveries=0, dead_letter=None, _fd=-1,
                 _inherited=False):
        _mpqdev._Queue.__init__(self, maxsize, _fd=_fd, _inherited=_inherited,
                                redeliver=redeliver,
                                max_deliveries=max_deliveries,
                                dead_letter=dead_letter)

    async def async_join(self):
        """await q.async_join(): join() for asyncio, waiting on EPOLLPRI.

        The loop watches an epoll descriptor registered for the queue's
        EPOLLPRI (nothing unfinished); no thread is used.
        """
        fd = self.fileno()
        ep = _select.epoll(1)
        try:
            ep.register(fd, _select.EPOLLPRI)
            while self.stat()["unfinished"]:
                await self._wait_fd(ep.fileno(), False)
                ep.poll(0)
        finally:
            ep.close()


class SimpleQueue(Queue):
    """SimpleQueue(): multiprocessing.SimpleQueue in the kernel.

    An unbounded Queue; get() and put() block as they do there.
    """

    def __init__(self, *, ctx=None, _fd=-1, _inherited=False):
        super().__init__(0, _fd=_fd, _inherited=_inherited)


def open(name, *, create=False, exclusive=False, maxsize=0, mode=0o600,
         joinable=False, redeliver=False, max_deliveries=0, dead_letter=None):
    """Open the named queue /dev/mpq/NAME and return a Queue for it.

    create: create it if missing (with maxsize, the file mode and the
    module's message limit); exclusive: with create, fail with
    FileExistsError if it exists. A missing queue raises
    FileNotFoundError, a denied one PermissionError, as for files. It is
    opened for reading and writing if the mode allows, else for the one it
    allows. joinable=True returns a JoinableQueue. redeliver=True (with
    create; max_deliveries and dead_letter as for JoinableQueue) creates
    it with redelivery, and returns a JoinableQueue.

    Named queues outlive their processes; mpqdev.unlink(name) removes one
    (handles already open keep working). Messages are shared with C
    programs, mpqctl and the shell; use put_bytes()/get_bytes() for those.
    """
    name = _mpqdev._check_name(name)
    if (max_deliveries or dead_letter is not None) and not redeliver:
        raise ValueError("max_deliveries and dead_letter need redeliver=True")
    if redeliver and not create:
        raise ValueError("redeliver=True needs create=True")
    cls = JoinableQueue if joinable or redeliver else Queue
    created = False
    if create:
        if dead_letter is not None:
            dead_letter = _mpqdev._check_name(dead_letter)
        created = _mpqdev._create_named(name, mode, maxsize, redeliver,
                                        max_deliveries, dead_letter)
        if not created and exclusive:
            raise FileExistsError(17, "queue exists", name)
    path = _os.path.join(_DEV_DIR, name)
    flags = _os.O_CLOEXEC | _os.O_NOCTTY
    try:
        try:
            access = _os.O_RDWR
            fd = _os.open(path, access | flags)
        except PermissionError:
            try:
                access = _os.O_RDONLY
                fd = _os.open(path, access | flags)
            except PermissionError:
                access = _os.O_WRONLY
                fd = _os.open(path, access | flags)
    except BaseException:
        if created:
            _mpqdev._remove_named(name)
        raise
    q = cls(_fd=fd)
    q._name = name
    q._access = access
    return q


def unlink(name):
    """Remove the named queue /dev/mpq/NAME (FileNotFoundError if none).

    Only its owner (or CAP_SYS_ADMIN) may. Handles already open keep
    working until they are closed, like an unlinked file.
    """
    _mpqdev._remove_named(_mpqdev._check_name(name))


# Message ids of mpq-bridge(8), as libmpqdev's mpq_msgid_parse() and
# mpq_envelope_parse() read them (see Documentation/userspace-api/bridge.rst).

MessageId = _collections.namedtuple(
    "MessageId", ["host", "queue", "seq", "redelivered"], defaults=[False])
MessageId.__doc__ = """The id mpq-bridge out gives a message: HOST/QUEUE/SEQ.

host and queue are where the message was first put, seq its sequence
number there. A message delivered twice keeps its id, so (host, queue,
seq) drops duplicates; redelivered is True when the stream had delivered
it before (envelope only; it is not part of the id's identity).
"""

_ENVELOPE_TAG = b"mpq-id "
_REDELIVERED = b" redelivered"
_HOST_MAX = 255
_ENVELOPE_MAX = 7 + _HOST_MAX + 1 + 64 + 1 + 20 + 12 + 1


def _bad_id(s):
    return ValueError(f"not an mpq-bridge message id: {s!r}")


def parse_id(s):
    """Parse "HOST/QUEUE/SEQ" (str or bytes) into a MessageId.

    Raises ValueError if it is not one. This is the stream entry's id
    field, as mpq-bridge out writes it.
    """
    if isinstance(s, str):
        s = s.encode("ascii", "replace")
    parts = bytes(s).split(b"/")
    if len(parts) != 3:
        raise _bad_id(s)
    host, queue, seq = parts
    if (not 0 < len(host) <= _HOST_MAX
            or any(c <= 0x20 or c > 0x7e for c in host)
            or not seq.isdigit() or (len(seq) > 1 and seq[:1] == b"0")
            or int(seq) >= 1 << 64):
        raise _bad_id(s)
    try:
        queue = _mpqdev._check_name(queue.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise _bad_id(s) from None
    return MessageId(host.decode("ascii"), queue, int(seq))


def parse_envelope(data):
    """Split a message mpq-bridge in --envelope put: (MessageId, payload).

    A message without an envelope is returned as (None, data): plain
    messages pass through. Raises ValueError if the envelope is malformed.
    """
    data = bytes(data)
    if not data.startswith(_ENVELOPE_TAG):
        return None, data
    nl = data.find(b"\n", len(_ENVELOPE_TAG), _ENVELOPE_MAX + 1)
    if nl < 0:
        raise ValueError("malformed mpq-bridge envelope")
    line = data[len(_ENVELOPE_TAG):nl]
    redelivered = line.endswith(_REDELIVERED) and len(line) > len(_REDELIVERED)
    if redelivered:
        line = line[:-len(_REDELIVERED)]
    try:
        msgid = parse_id(line)
    except ValueError:
        raise ValueError("malformed mpq-bridge envelope") from None
    return msgid._replace(redelivered=redelivered), data[nl + 1:]
