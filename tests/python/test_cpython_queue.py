#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""CPython's own multiprocessing queue tests, run against mpqdev.

Class _TestQueue of Lib/test/_test_multiprocessing.py (Debian's
libpython3.11-testsuite), under the fork, spawn and forkserver start
methods, with a mixin that supplies mpqdev's Queue and JoinableQueue
where CPython's ProcessesMixin supplies multiprocessing's.

Three tests build multiprocessing.Queue() themselves instead of using
self.Queue; for them the mixin also makes multiprocessing.Queue and
multiprocessing.JoinableQueue mpqdev's for the test's duration, so that
they test mpqdev:
  test_closed_queue_put_get_exceptions, test_timeout,
  test_no_import_lock_contention.

Tests that do not apply, skipped with the reason:
  test_queue_feeder_donot_stop_onexc: tests that mp's feeder thread goes
    on after it failed to pickle an item; mpqdev pickles in the caller,
    so put() raises there and queues nothing (tests/python/test_mpqdev.py
    checks exactly that).
  test_queue_feeder_on_queue_feeder_error: subclasses
    multiprocessing.queues.Queue and its feeder thread's
    _on_queue_feeder_error hook; mpqdev has no feeder thread.
"""
import multiprocessing
import sys
import unittest
from unittest import mock

import tap  # noqa: E402  (puts the tree's mpqdev on sys.path)
import mpqdev  # noqa: E402

try:
    from test import _test_multiprocessing as tmp
except ImportError:
    tmp = None

NOT_APPLICABLE = {
    "test_queue_feeder_donot_stop_onexc":
        "tests mp's feeder thread surviving a pickling error; mpqdev "
        "pickles in the caller, put() raises and queues nothing",
    "test_queue_feeder_on_queue_feeder_error":
        "subclasses multiprocessing.queues.Queue to hook its feeder "
        "thread; mpqdev has no feeder thread",
}


if tmp is not None:
    class MpqdevMixin(tmp.ProcessesMixin):
        """ProcessesMixin with mpqdev's queues, in one start method."""

        Queue = staticmethod(mpqdev.Queue)
        JoinableQueue = staticmethod(mpqdev.JoinableQueue)
        START_METHOD = None

        @classmethod
        def setUpClass(cls):
            super().setUpClass()
            multiprocessing.set_start_method(cls.START_METHOD, force=True)

        def setUp(self):
            reason = NOT_APPLICABLE.get(self._testMethodName)
            if reason:
                self.skipTest(reason)
            for attr, value in (("Queue", mpqdev.Queue),
                                ("JoinableQueue", mpqdev.JoinableQueue)):
                p = mock.patch.object(multiprocessing, attr, value)
                p.start()
                self.addCleanup(p.stop)

    # Module-level classes, so that spawned children can find the tests'
    # classmethods (the children's targets) by name.
    class WithForkMpqdevQueue(tmp._TestQueue, MpqdevMixin, unittest.TestCase):
        START_METHOD = "fork"

    class WithSpawnMpqdevQueue(tmp._TestQueue, MpqdevMixin, unittest.TestCase):
        START_METHOD = "spawn"

    class WithForkserverMpqdevQueue(tmp._TestQueue, MpqdevMixin,
                                    unittest.TestCase):
        START_METHOD = "forkserver"


if __name__ == "__main__":
    if tmp is None:
        print("1..0 # SKIP no test._test_multiprocessing: "
              "apt-get install libpython3.11-testsuite")
        sys.exit(4)
    tap.main(WithForkMpqdevQueue, WithSpawnMpqdevQueue,
             WithForkserverMpqdevQueue)
