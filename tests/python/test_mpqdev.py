#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""mpqdev: every rule of the Python binding, against the loaded mpq.ko.

Waiting for a call to block is observed in the queue's stat (getters,
putters, joiners), never guessed with a sleep.
"""
import asyncio
import multiprocessing
import os
import pickle
import queue
import select
import signal
import subprocess
import sys
import threading
import time
import unittest

import tap  # noqa: E402  (puts the tree's mpqdev on sys.path)
import mpqdev  # noqa: E402
from multiprocessing.reduction import ForkingPickler  # noqa: E402

MPQCTL = os.path.join(tap.TOP, "tools", "mpqctl", "mpqctl")
PREFIX = f"py-{os.getpid()}-"


def wait_stat(q, key, value, timeout=60):
    """Poll q.stat()[key] until it equals value."""
    end = time.monotonic() + timeout
    while q.stat()[key] != value:
        if time.monotonic() > end:
            raise AssertionError(f"stat {key} stayed {q.stat()[key]}, want {value}")
        time.sleep(0.002)


def msgsize_limit():
    try:
        with open("/sys/module/mpq/parameters/msgsize_limit") as f:
            return int(f.read())
    except OSError:
        return 16 << 20


# Children: module-level functions, so that spawn and forkserver find them.

def child_put(q, items):
    for i in items:
        q.put(i)


def child_get_put(q_in, q_out):
    q_out.put(("got", q_in.get(timeout=60)))


def child_work(q, out):
    while True:
        try:
            item = q.get(timeout=60)
        except mpqdev.ShutDown:
            return
        out.put(item * 2)
        q.task_done()


def child_put_exit(q, base, n):
    for i in range(n):
        q.put(base + i)
    os._exit(0)


def child_block_get(q):
    q.get()


class NotPicklable:
    def __reduce__(self):
        raise TypeError("NotPicklable cannot be pickled")


class Reduced:
    """Pickled through a reducer registered with ForkingPickler only."""

    def __init__(self, v):
        self.v = v


def _reduce_reduced(r):
    return (Reduced, (r.v + 1000,))


ForkingPickler.register(Reduced, _reduce_reduced)


class TestBasics(unittest.TestCase):
    def test_fifo_and_counts(self):
        q = mpqdev.Queue()
        self.assertTrue(q.empty())
        self.assertFalse(q.full())
        for i in range(10):
            q.put({"i": i, "s": "x" * i})
        self.assertEqual(q.qsize(), 10)
        self.assertFalse(q.empty())
        self.assertEqual([q.get()["i"] for _ in range(10)], list(range(10)))
        self.assertTrue(q.empty())
        q.close()

    def test_exceptions_are_queues(self):
        self.assertIs(mpqdev.Empty, queue.Empty)
        self.assertIs(mpqdev.Full, queue.Full)
        if hasattr(queue, "ShutDown"):
            self.assertIs(mpqdev.ShutDown, queue.ShutDown)

    def test_maxsize_full(self):
        q = mpqdev.Queue(2)
        q.put(1)
        q.put_nowait(2)
        self.assertTrue(q.full())
        self.assertRaises(queue.Full, q.put_nowait, 3)
        self.assertRaises(queue.Full, q.put, 3, False)
        t0 = time.monotonic()
        self.assertRaises(queue.Full, q.put, 3, True, 0.2)
        self.assertGreaterEqual(time.monotonic() - t0, 0.19)
        self.assertEqual(q.qsize(), 2)
        self.assertEqual(q.get_nowait(), 1)
        self.assertFalse(q.full())

    def test_empty_timeouts(self):
        q = mpqdev.Queue()
        self.assertRaises(queue.Empty, q.get_nowait)
        self.assertRaises(queue.Empty, q.get, False)
        t0 = time.monotonic()
        self.assertRaises(queue.Empty, q.get, timeout=0.2)
        self.assertGreaterEqual(time.monotonic() - t0, 0.19)
        self.assertRaises(ValueError, q.get, True, -1)

    def test_closed(self):
        for q in mpqdev.Queue(), mpqdev.JoinableQueue(), mpqdev.SimpleQueue():
            self.assertRaises(AssertionError, q.join_thread)
            q.cancel_join_thread()
            q.close()
            q.close()
            q.join_thread()
            calls = [lambda: q.put(1), lambda: q.get(), q.get_nowait,
                     lambda: q.put_nowait(1), q.qsize, q.empty, q.full,
                     q.fileno, q.shutdown, lambda: q.put_bytes(b"x"),
                     q.get_bytes, lambda: q.put_many([1]),
                     lambda: q.get_many(1)]
            if isinstance(q, mpqdev.JoinableQueue):
                calls += [q.task_done, q.join]
            for call in calls:
                with self.assertRaisesRegex(ValueError, "is closed"):
                    call()

    def test_close_keeps_items(self):
        q = mpqdev.Queue()
        q.put("kept")
        out = mpqdev.Queue()
        p = multiprocessing.get_context("fork").Process(target=child_get_put,
                                                        args=(q, out))
        p.start()
        q.close()          # this handle only; the child's copy goes on
        self.assertEqual(out.get(timeout=60), ("got", "kept"))
        p.join()

    def test_task_done_join(self):
        q = mpqdev.JoinableQueue()
        self.assertFalse(hasattr(mpqdev.Queue(), "task_done"))
        self.assertTrue(q.join(timeout=0))
        q.put(1)
        q.put(2)
        self.assertFalse(q.join(timeout=0.05))
        q.get()
        q.get()
        q.task_done()
        q.task_done()
        with self.assertRaisesRegex(ValueError, "too many times"):
            q.task_done()
        self.assertTrue(q.join(timeout=0))
        q.join()

    def test_join_wakes(self):
        q = mpqdev.JoinableQueue()
        q.put("job")
        t = threading.Thread(target=q.join)
        t.start()
        wait_stat(q, "joiners", 1)
        q.get()
        q.task_done()
        t.join(60)
        self.assertFalse(t.is_alive())

    def test_shutdown(self):
        q = mpqdev.Queue()
        q.put(1)
        q.put(2)
        q.shutdown()
        self.assertRaises(mpqdev.ShutDown, q.put, 3)
        self.assertEqual(q.get(), 1)
        self.assertEqual(q.get(), 2)
        self.assertRaises(mpqdev.ShutDown, q.get)
        self.assertRaises(mpqdev.ShutDown, q.get_nowait)

    def test_shutdown_wakes_all_getters(self):
        q = mpqdev.Queue()
        errs = []

        def getter():
            try:
                q.get()
            except mpqdev.ShutDown:
                errs.append("ShutDown")
        ts = [threading.Thread(target=getter) for _ in range(3)]
        for t in ts:
            t.start()
        wait_stat(q, "getters", 3)
        q.shutdown()
        for t in ts:
            t.join(60)
        self.assertEqual(errs, ["ShutDown"] * 3)

    def test_shutdown_immediate(self):
        q = mpqdev.JoinableQueue()
        for i in range(5):
            q.put(i)
        q.shutdown(immediate=True)
        self.assertRaises(mpqdev.ShutDown, q.get)
        self.assertEqual(q.qsize(), 0)
        self.assertTrue(q.join(timeout=0))

    def test_fileno_poll(self):
        q = mpqdev.JoinableQueue()
        fd = q.fileno()
        self.assertEqual(select.select([fd], [], [], 0)[0], [])
        q.put(1)
        self.assertEqual(select.select([fd], [], [], 0)[0], [fd])
        p = select.poll()
        p.register(fd, select.POLLPRI)
        self.assertEqual(p.poll(0), [])
        q.get()
        q.task_done()
        self.assertEqual(p.poll(0), [(fd, select.POLLPRI)])

    def test_repr_and_help(self):
        q = mpqdev.Queue()
        self.assertIn("anonymous", repr(q))
        q.close()
        self.assertIn("closed", repr(q))
        self.assertIn("queue.Full", mpqdev.Queue.put.__doc__)
        self.assertIn("task_done", mpqdev.JoinableQueue.__doc__)

    def test_simplequeue(self):
        q = mpqdev.SimpleQueue()
        self.assertTrue(q.empty())
        q.put([1, 2])
        self.assertFalse(q.empty())
        self.assertEqual(q.get(), [1, 2])
        q.close()


class TestPickling(unittest.TestCase):
    def test_objects_round_trip(self):
        q = mpqdev.Queue()
        objs = [None, 1, 2.5, "s", b"b", (1, 2), [1, [2]], {"a": {1, 2}},
                frozenset({3}), bytearray(b"x"), 10 ** 40]
        for o in objs:
            q.put(o)
        self.assertEqual([q.get() for _ in objs], objs)

    def test_pickles_both_ways(self):
        # What put() sends is a pickle any pickle.loads() reads, and get()
        # reads any pickle, whichever encoder made it.
        vals = [None, True, False, 0, 255, 256, 65535, 65536, -1, -2 ** 31,
                2 ** 31 - 1, 2 ** 31, 10 ** 30, b"", b"b" * 255, b"b" * 256,
                b"B" * 70000, "", "é" * 200, "s" * 300, "\U0001F600",
                "\ud800", 1.5, (1,), [b"x"]]
        q = mpqdev.Queue()
        for v in vals:
            q.put(v)
            raw = q.get_bytes()
            self.assertEqual(pickle.loads(raw), v)
            self.assertIs(type(pickle.loads(raw)), type(v))
            for proto in range(2, pickle.HIGHEST_PROTOCOL + 1):
                q.put_bytes(pickle.dumps(v, proto))
                got = q.get()
                self.assertEqual(got, v)
                self.assertIs(type(got), type(v))

    def test_forking_pickler_reducers(self):
        q = mpqdev.Queue()
        q.put(Reduced(1))
        self.assertEqual(q.get().v, 1001)
        q.put(list.append)      # ForkingPickler reduces method descriptors
        self.assertIs(q.get(), list.append)

    def test_reducer_registered_later(self):
        class Late:
            pass
        ForkingPickler.register(Late, lambda o: (int, (7,)))
        q = mpqdev.Queue()
        q.put(Late())
        self.assertEqual(q.get(), 7)

    def test_unpicklable_raises_in_caller(self):
        q = mpqdev.Queue()
        with self.assertRaisesRegex(TypeError, "cannot be pickled"):
            q.put(NotPicklable())
        self.assertEqual(q.qsize(), 0)
        with self.assertRaises(TypeError):
            q.put_many([1, NotPicklable()])
        self.assertEqual(q.qsize(), 0)
        q.put(True)
        self.assertTrue(q.get())

    def test_anonymous_refuses_pickle(self):
        q = mpqdev.Queue()
        with self.assertRaisesRegex(RuntimeError, "inheritance"):
            pickle.dumps(q)
        with self.assertRaisesRegex(RuntimeError, "inheritance"):
            q.put(mpqdev.Queue())

    def test_named_pickles_by_name(self):
        name = PREFIX + "pickle"
        q = mpqdev.open(name, create=True, joinable=True)
        try:
            q2 = pickle.loads(pickle.dumps(q))
            self.assertIsInstance(q2, mpqdev.JoinableQueue)
            self.assertEqual(q2.name, name)
            q.put("by name")
            self.assertEqual(q2.get(), "by name")
        finally:
            mpqdev.unlink(name)


class TestSize(unittest.TestCase):
    def test_limit(self):
        limit = msgsize_limit()
        q = mpqdev.Queue()
        self.assertEqual(q.msgsize_max, limit)
        big = b"x" * (limit - 64)
        q.put(big)
        self.assertEqual(q.get(), big)
        with self.assertRaises(ValueError) as cm:
            q.put(b"x" * limit)
        self.assertIn(str(limit), str(cm.exception))
        self.assertIn("message limit", str(cm.exception))
        with self.assertRaises(ValueError):
            q.put_nowait(b"x" * (limit + 1))
        with self.assertRaises(ValueError):
            q.put_bytes(b"x" * (limit + 1))
        self.assertEqual(q.qsize(), 0)
        q.put("still works")
        self.assertEqual(q.get(), "still works")

    def test_medium_sizes(self):
        q = mpqdev.Queue()
        for n in (0, 100, 16383, 16384, 70000, 1 << 20):
            q.put(b"y" * n)
            self.assertEqual(len(q.get()), n)

    def test_big_then_small(self):
        # Buffers sized after the last big message must fit any other.
        sizes = [100, 70000, 70000, 10, 200000, 5, 300000, 20000, 1]
        q = mpqdev.Queue()
        for n in sizes:
            q.put_bytes(b"z" * n)
        self.assertEqual([len(q.get_bytes()) for _ in sizes], sizes)
        q.put_many([b"w" * n for n in sizes])
        got = []
        while len(got) < len(sizes):
            got += q.get_many(3)
        self.assertEqual([len(b) for b in got], sizes)

    def test_empty_raw_message(self):
        q = mpqdev.Queue()
        self.assertRaises(ValueError, q.put_bytes, b"")


def with_ctx(method):
    return multiprocessing.get_context(method)


class TestChildren(unittest.TestCase):
    def run_children(self, method, qctx):
        ctx = with_ctx(method)
        jq = mpqdev.JoinableQueue()
        out = mpqdev.Queue()
        p = ctx.Process(target=child_work, args=(jq, out))
        p.start()
        for i in range(5):
            jq.put(i)
        jq.join()
        self.assertEqual(sorted(out.get(timeout=60) for _ in range(5)),
                         [0, 2, 4, 6, 8])
        jq.shutdown()
        p.join(60)
        self.assertEqual(p.exitcode, 0)

    def test_fork(self):
        self.run_children("fork", None)

    def test_spawn(self):
        self.run_children("spawn", None)

    def test_forkserver(self):
        self.run_children("forkserver", None)

    def test_fork_context_queue_in_spawn_child(self):
        # multiprocessing refuses this mixing; mpqdev does not care who
        # created the queue.
        q = mpqdev.Queue()
        p = with_ctx("spawn").Process(target=child_put, args=(q, [1, 2, 3]))
        p.start()
        self.assertEqual([q.get(timeout=60) for _ in range(3)], [1, 2, 3])
        p.join(60)
        self.assertEqual(p.exitcode, 0)

    def test_named_in_child(self):
        name = PREFIX + "child"
        q = mpqdev.open(name, create=True)
        try:
            p = with_ctx("forkserver").Process(target=child_put, args=(q, ["n"]))
            p.start()
            self.assertEqual(q.get(timeout=60), "n")
            p.join(60)
        finally:
            mpqdev.unlink(name)

    def test_producers_exit_at_once(self):
        # mp.Queue loses items of a producer that exits before its feeder
        # thread flushed them; with no feeder thread nothing is lost.
        q = mpqdev.Queue()
        ctx = with_ctx("fork")
        ps = [ctx.Process(target=child_put_exit, args=(q, k * 500, 500))
              for k in range(4)]
        for p in ps:
            p.start()
        for p in ps:
            p.join(60)
        got = []
        while True:
            try:
                got.append(q.get_nowait())
            except queue.Empty:
                break
        self.assertEqual(len(got), 2000)
        self.assertEqual(sorted(got), list(range(2000)))

    def test_consumer_killed_in_get(self):
        q = mpqdev.Queue()
        ctx = with_ctx("fork")
        victim = ctx.Process(target=child_block_get, args=(q,))
        victim.start()
        wait_stat(q, "getters", 1)
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(60)
        wait_stat(q, "getters", 0)
        out = mpqdev.Queue()
        other = ctx.Process(target=child_get_put, args=(q, out))
        other.start()
        q.put("after the kill")
        self.assertEqual(out.get(timeout=60), ("got", "after the kill"))
        other.join(60)
        self.assertEqual(q.qsize(), 0)


def _kill_when_blocked(q, pid, sig, key):
    wait_stat(q, key, 1)
    t = time.monotonic()
    os.kill(pid, sig)
    return t


class TestWaiting(unittest.TestCase):
    def _sigint_in(self, q, key, call):
        # The killer is a process: a thread could get the signal itself.
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            t = _kill_when_blocked(q, os.getppid(), signal.SIGINT, key)
            os.write(w, repr(t).encode())
            os._exit(0)
        os.close(w)
        try:
            with self.assertRaises(KeyboardInterrupt):
                call()
            t1 = time.monotonic()
            sent = float(os.read(r, 64))
        finally:
            os.close(r)
            os.waitpid(pid, 0)
        print(f"# SIGINT in a blocked {key[:-1]}: KeyboardInterrupt after "
              f"{(t1 - sent) * 1000:.1f} ms", flush=True)
        self.assertLess(t1 - sent, 0.1)
        self.assertEqual(q.stat()[key], 0)

    def test_sigint_get(self):
        q = mpqdev.Queue()
        self._sigint_in(q, "getters", q.get)
        q.put(1)
        self.assertEqual(q.get(), 1)      # the queue is fine afterwards

    def test_sigint_put(self):
        q = mpqdev.Queue(1)
        q.put(0)
        self._sigint_in(q, "putters", lambda: q.put(1))
        self.assertEqual(q.qsize(), 1)

    def test_sigint_join(self):
        q = mpqdev.JoinableQueue()
        q.put(0)
        self._sigint_in(q, "joiners", q.join)

    def test_other_signal_retried_with_time_left(self):
        q = mpqdev.Queue()
        seen = []
        old = signal.signal(signal.SIGUSR1, lambda s, f: seen.append(s))
        try:
            pid = os.fork()
            if pid == 0:
                _kill_when_blocked(q, os.getppid(), signal.SIGUSR1, "getters")
                os._exit(0)
            t0 = time.monotonic()
            self.assertRaises(queue.Empty, q.get, timeout=1.0)
            elapsed = time.monotonic() - t0
            os.waitpid(pid, 0)
        finally:
            signal.signal(signal.SIGUSR1, old)
        self.assertEqual(seen, [signal.SIGUSR1])
        self.assertGreaterEqual(elapsed, 0.99)
        self.assertLess(elapsed, 1.5)

    def test_gil_released(self):
        q = mpqdev.Queue()
        got = []
        t = threading.Thread(target=lambda: got.append(q.get()))
        t.start()
        wait_stat(q, "getters", 1)
        # This thread runs Python code while the other is blocked.
        n = sum(range(200000))
        self.assertEqual(n, 199999 * 100000)
        self.assertTrue(t.is_alive())
        q.put("wake")
        t.join(60)
        self.assertEqual(got, ["wake"])

    def test_threads(self):
        q = mpqdev.Queue(10)
        got = []
        lock = threading.Lock()

        def consumer():
            while True:
                try:
                    item = q.get()
                except mpqdev.ShutDown:
                    return
                with lock:
                    got.append(item)

        def producer(base):
            for i in range(200):
                q.put(base + i)
        cs = [threading.Thread(target=consumer) for _ in range(3)]
        ps = [threading.Thread(target=producer, args=(k * 1000,)) for k in range(3)]
        for t in cs + ps:
            t.start()
        for t in ps:
            t.join()
        q.shutdown()
        for t in cs:
            t.join()
        self.assertEqual(sorted(got),
                         sorted(k * 1000 + i for k in range(3) for i in range(200)))


class TestNamed(unittest.TestCase):
    def setUp(self):
        self.name = PREFIX + self._testMethodName[-40:]
        self.addCleanup(self._cleanup)

    def _cleanup(self):
        try:
            mpqdev.unlink(self.name)
        except FileNotFoundError:
            pass

    def mpqctl(self, *args, input=None):
        return subprocess.run([MPQCTL, *args], input=input, capture_output=True,
                              check=True, timeout=60).stdout

    def test_open_errors(self):
        self.assertRaises(FileNotFoundError, mpqdev.open, self.name)
        q = mpqdev.open(self.name, create=True, maxsize=3)
        self.assertEqual(q.stat()["maxsize"], 3)
        self.assertEqual(q.msgsize_max, msgsize_limit())
        self.assertRaises(FileExistsError, mpqdev.open, self.name,
                          create=True, exclusive=True)
        q2 = mpqdev.open(self.name, create=True)
        q.put(1)
        self.assertEqual(q2.get(), 1)
        self.assertIsInstance(mpqdev.open(self.name, joinable=True),
                              mpqdev.JoinableQueue)
        self.assertRaises(ValueError, mpqdev.open, "../x")
        self.assertRaises(ValueError, mpqdev.open, "control")
        mpqdev.unlink(self.name)
        self.assertRaises(FileNotFoundError, mpqdev.unlink, self.name)
        q.put(2)                    # an unlinked queue keeps working
        self.assertEqual(q2.get(), 2)

    def test_permission(self):
        mpqdev.open(self.name, create=True, mode=0o600)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setgid(65534)
                os.setuid(65534)
                mpqdev.open(self.name)
            except PermissionError:
                code = 0
            except BaseException:
                code = 2
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)

    def test_mpqctl_interop(self):
        q = mpqdev.open(self.name, create=True)
        self.mpqctl("put", self.name, "from-mpqctl")
        self.assertEqual(q.get_bytes(timeout=10), b"from-mpqctl")
        subprocess.run(["sh", "-c", f"echo from-shell > /dev/mpq/{self.name}"],
                       check=True, timeout=60)
        self.assertEqual(q.get_bytes(timeout=10), b"from-shell\n")
        q.put_bytes(b"from-python")
        self.assertEqual(self.mpqctl("get", self.name, "--nowait"),
                         b"from-python\n")
        self.assertEqual(q.stat()["qsize"], 0)

    def test_mpqctl_created(self):
        self.mpqctl("create", self.name, "--maxsize", "2")
        q = mpqdev.open(self.name)
        self.assertEqual(q.stat()["maxsize"], 2)
        q.put("a")
        q.put("b")
        self.assertRaises(queue.Full, q.put_nowait, "c")
        self.assertIn(b"2", self.mpqctl("stat", self.name))
        with self.assertRaises(ValueError):     # mpqctl's default: 1 MiB
            q.put(b"z" * (2 << 20))


class TestBatches(unittest.TestCase):
    def test_put_many_get_many(self):
        q = mpqdev.Queue()
        self.assertEqual(q.put_many(range(3000)), 3000)
        self.assertEqual(q.qsize(), 3000)
        got = []
        while len(got) < 3000:
            got += q.get_many(1000)
        self.assertEqual(got, list(range(3000)))
        self.assertRaises(queue.Empty, q.get_many, 10, False)
        self.assertRaises(queue.Empty, q.get_many, 10, timeout=0.05)
        self.assertRaises(ValueError, q.get_many, 0)

    def test_get_many_returns_what_is_there(self):
        q = mpqdev.Queue()
        q.put_many(["a", "b"])
        self.assertEqual(q.get_many(10), ["a", "b"])

    def test_get_many_big_messages(self):
        q = mpqdev.Queue()
        items = ["s", b"B" * 10000, "t", b"C" * 5000, b"D" * 300000, "u"]
        q.put_many(items)
        got = []
        while len(got) < len(items):
            got += q.get_many(10, timeout=10)
        self.assertEqual(got, items)

    def test_put_many_full(self):
        q = mpqdev.Queue(3)
        self.assertEqual(q.put_many(range(5), block=False), 3)
        self.assertRaises(queue.Full, q.put_many, [9], block=False)
        self.assertEqual(q.get_many(5), [0, 1, 2])

    def test_put_many_blocks_until_all(self):
        q = mpqdev.Queue(2)
        out = []
        t = threading.Thread(target=lambda: out.append(q.put_many(range(6))))
        t.start()
        got = []
        while len(got) < 6:
            got.append(q.get(timeout=60))
        t.join(60)
        self.assertEqual(out, [6])
        self.assertEqual(got, list(range(6)))

    def test_get_many_shutdown(self):
        q = mpqdev.Queue()
        q.put(1)
        q.shutdown()
        self.assertEqual(q.get_many(5), [1])
        self.assertRaises(mpqdev.ShutDown, q.get_many, 5)


class TestBridgeIds(unittest.TestCase):
    """mpqdev.parse_id() and parse_envelope(), mpq-bridge's message ids."""

    def test_parse_id(self):
        self.assertEqual(mpqdev.parse_id("host-1/jobs/42"),
                         mpqdev.MessageId("host-1", "jobs", 42, False))
        self.assertEqual(mpqdev.parse_id(b"h/q/18446744073709551615").seq,
                         (1 << 64) - 1)
        for bad in ["", "h/q", "h//1", "/q/1", "h/q/01", "h/q/-1",
                    "h/q/18446744073709551616", "h q/q/1", "h/q/1/2",
                    "h/.q/1", "h/control/1"]:
            with self.assertRaises(ValueError, msg=bad):
                mpqdev.parse_id(bad)

    def test_parse_envelope(self):
        msgid, payload = mpqdev.parse_envelope(b"mpq-id a/q/7 redelivered\nx\ny")
        self.assertEqual(msgid, mpqdev.MessageId("a", "q", 7, True))
        self.assertEqual(payload, b"x\ny")
        msgid, payload = mpqdev.parse_envelope(memoryview(b"mpq-id a/q/7\n"))
        self.assertEqual(msgid, mpqdev.MessageId("a", "q", 7))
        self.assertEqual(payload, b"")
        self.assertEqual(mpqdev.parse_envelope(b"plain"), (None, b"plain"))
        for bad in [b"mpq-id a/q/1", b"mpq-id a/q\n", b"mpq-id a/q/1 again\n"]:
            with self.assertRaises(ValueError, msg=bad):
                mpqdev.parse_envelope(bad)


class TestAsyncio(unittest.TestCase):
    def test_async_get_from_child(self):
        q = mpqdev.Queue()

        async def main():
            p = with_ctx("fork").Process(target=child_put, args=(q, [1, 2, 3]))
            p.start()
            got = [await q.async_get() for _ in range(3)]
            p.join(60)
            return got
        self.assertEqual(asyncio.run(main()), [1, 2, 3])

    def test_many_waiters_one_loop(self):
        q = mpqdev.Queue()

        async def main():
            tasks = [asyncio.create_task(q.async_get()) for _ in range(4)]
            await asyncio.sleep(0)
            for i in range(4):
                await q.async_put(i)
            return sorted(await asyncio.gather(*tasks))
        self.assertEqual(asyncio.run(main()), [0, 1, 2, 3])

    def test_async_put_waits_for_room(self):
        q = mpqdev.Queue(1)
        q.put("first")

        async def main():
            t = asyncio.create_task(q.async_put("second"))
            await asyncio.sleep(0)
            self.assertFalse(t.done())
            self.assertEqual(await q.async_get(), "first")
            await t
            return await q.async_get()
        self.assertEqual(asyncio.run(main()), "second")

    def test_async_join(self):
        q = mpqdev.JoinableQueue()

        async def worker():
            while True:
                try:
                    await q.async_get()
                except mpqdev.ShutDown:
                    return
                q.task_done()

        async def main():
            w = asyncio.create_task(worker())
            for i in range(10):
                await q.async_put(i)
            await q.async_join()
            self.assertEqual(q.stat()["unfinished"], 0)
            q.shutdown()
            await w
        asyncio.run(main())

    def test_async_join_from_other_process(self):
        q = mpqdev.JoinableQueue()
        out = mpqdev.Queue()
        q.put(5)

        async def main():
            p = with_ctx("fork").Process(target=child_work, args=(q, out))
            p.start()
            await q.async_join()
            q.shutdown()
            p.join(60)
        asyncio.run(main())
        self.assertEqual(out.get(timeout=10), 10)

    def test_async_end_of_stream(self):
        q = mpqdev.Queue()

        async def main():
            t = asyncio.create_task(q.async_get())
            await asyncio.sleep(0)
            q.shutdown()
            with self.assertRaises(mpqdev.ShutDown):
                await t
        asyncio.run(main())


if __name__ == "__main__":
    tap.main()
