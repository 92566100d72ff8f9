#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""mpqdev redelivery: JoinableQueue(redeliver=True) and open(redeliver=True).

An item a process got is that process's until its task_done(); if the
process is killed first, the item comes back for the others and join()
returns. Each process has its own file on the queue, under fork, spawn
and forkserver alike, so a killed child's items come back while its
parent, which keeps what it got itself, lives on.
"""
import multiprocessing
import os
import signal
import time
import unittest

import tap  # noqa: E402  (puts the tree's mpqdev on sys.path)
import mpqdev  # noqa: E402
from test_mpqdev import wait_stat  # noqa: E402

PREFIX = f"pyrq-{os.getpid()}-"


# Children: module-level functions, so that spawn and forkserver find them.

def child_take_and_hang(q, n):
    for _ in range(n):
        q.get(timeout=60)
    while True:
        time.sleep(60)


def child_pool_worker(q, done, kill_on):
    """The seed's pool of consumers: one dies on its first item."""
    while True:
        try:
            item, deliveries = q.get_counted(timeout=60)
        except mpqdev.ShutDown:
            return
        if item == kill_on and deliveries == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        done.put((item, deliveries))
        q.task_done()


class TestRedeliver(unittest.TestCase):
    def test_counts_nack_and_stat(self):
        q = mpqdev.JoinableQueue(redeliver=True)
        self.assertTrue(q.redeliver)
        self.assertFalse(mpqdev.JoinableQueue().redeliver)
        q.put("a")
        q.put("b")
        self.assertEqual(q.get_counted(), ("a", 1))
        self.assertEqual(q.stat()["in_flight"], 1)
        q.nack()
        self.assertEqual(q.get_counted(), ("a", 2))
        self.assertEqual(q.get(), "b")
        with self.assertRaises(ValueError):
            q.nack(3)
        with self.assertRaises(ValueError):
            q.task_done(3)
        q.task_done(2)
        self.assertTrue(q.join(timeout=10))
        st = q.stat()
        self.assertEqual((st["in_flight"], st["redelivered"], st["unfinished"]),
                         (0, 1, 0))
        with self.assertRaises(ValueError):
            mpqdev.JoinableQueue().nack()

    def test_max_deliveries_discards(self):
        q = mpqdev.JoinableQueue(redeliver=True, max_deliveries=1)
        q.put("poison")
        q.get()
        q.nack()
        self.assertEqual(q.stat()["dead_lettered"], 1)
        self.assertTrue(q.join(timeout=10))

    def test_open_with_dead_letter(self):
        name, dlq = PREFIX + "q", PREFIX + "dlq"
        d = mpqdev.open(dlq, create=True)
        try:
            with self.assertRaises(ValueError):
                mpqdev.open(name, create=True, max_deliveries=2)
            q = mpqdev.open(name, create=True, exclusive=True, redeliver=True,
                            max_deliveries=1, dead_letter=dlq)
            try:
                self.assertIsInstance(q, mpqdev.JoinableQueue)
                self.assertTrue(q.redeliver)
                q.put("bad")
                q.get()
                q.nack()
                self.assertEqual(d.get(timeout=10), "bad")
                self.assertTrue(q.join(timeout=10))
                # Reopened by name: still a redelivery queue.
                again = mpqdev.open(name, joinable=True)
                self.assertTrue(again.redeliver)
                again.close()
            finally:
                q.close()
                mpqdev.unlink(name)
            with self.assertRaises(FileNotFoundError):
                mpqdev.open(name, create=True, redeliver=True,
                            max_deliveries=1, dead_letter=PREFIX + "none")
        finally:
            d.close()
            mpqdev.unlink(dlq)

    def killed_child_gives_back(self, method):
        ctx = multiprocessing.get_context(method)
        q = mpqdev.JoinableQueue(redeliver=True)
        for item in ("parent", "c1", "c2"):
            q.put(item)
        self.assertEqual(q.get(), "parent")
        p = ctx.Process(target=child_take_and_hang, args=(q, 2))
        p.start()
        try:
            wait_stat(q, "in_flight", 3)
        finally:
            os.kill(p.pid, signal.SIGKILL)
            p.join()
        st = q.stat()
        self.assertEqual((st["in_flight"], st["qsize"]), (1, 2))
        self.assertEqual(q.get_counted(timeout=10), ("c1", 2))
        self.assertEqual(q.get_counted(timeout=10), ("c2", 2))
        q.task_done(3)
        self.assertTrue(q.join(timeout=10))

    def test_fork(self):
        self.killed_child_gives_back("fork")

    def test_spawn(self):
        self.killed_child_gives_back("spawn")

    def test_forkserver(self):
        self.killed_child_gives_back("forkserver")

    def test_pool_survives_a_kill(self):
        ctx = multiprocessing.get_context("fork")
        q = mpqdev.JoinableQueue(redeliver=True)
        done = mpqdev.Queue()
        items = list(range(20))
        workers = [ctx.Process(target=child_pool_worker, args=(q, done, 7))
                   for _ in range(3)]
        for w in workers:
            w.start()
        for i in items:
            q.put(i)
        self.assertTrue(q.join(timeout=120))
        q.shutdown()
        for w in workers:
            w.join(60)
        got = sorted(done.get(timeout=10) for _ in items)
        self.assertEqual([i for i, _ in got], items)
        self.assertEqual(dict(got)[7], 2)
        self.assertEqual(sorted(w.exitcode for w in workers),
                         [-signal.SIGKILL, 0, 0])
        self.assertEqual(q.stat()["redelivered"], 1)


if __name__ == "__main__":
    tap.main()
