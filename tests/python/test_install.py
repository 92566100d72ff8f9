#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""make install of bindings/python: where Debian's python3 finds mpqdev.

Installs with DESTDIR and PREFIX=/usr into a scratch root, imports the
installed copy (not the tree's) in a fresh /usr/bin/python3, and checks
that make uninstall takes it away again.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

import tap

PKG = os.path.join(tap.TOP, "bindings", "python")


class TestInstall(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)

    def make(self, target, prefix="/usr"):
        subprocess.run(["make", "-s", "-C", PKG, target, f"PREFIX={prefix}",
                        f"DESTDIR={self.root}"], check=True, timeout=300,
                       capture_output=True)

    def test_install_import_uninstall(self):
        self.make("install")
        site = os.path.join(self.root, "usr/lib/python3/dist-packages")
        pkg = os.path.join(site, "mpqdev")
        self.assertEqual(sorted(os.listdir(pkg)),
                         ["__init__.py", "__init__.pyi", "_mpqdev.abi3.so",
                          "py.typed"])
        env = dict(os.environ, PYTHONPATH=site)
        out = subprocess.run(
            ["/usr/bin/python3", "-c",
             "import mpqdev; q = mpqdev.Queue(); q.put(1); "
             "print(mpqdev.__file__, q.get(), mpqdev.__version__)"],
            env=env, capture_output=True, text=True, check=True, timeout=60,
            cwd="/").stdout.split()
        with open(os.path.join(tap.TOP, "VERSION")) as f:
            version = f.read().strip()
        self.assertEqual(out, [os.path.join(pkg, "__init__.py"), "1", version])
        self.make("uninstall")
        self.assertFalse(os.path.exists(pkg))

    def test_prefix_default(self):
        self.make("install", prefix="/usr/local")
        self.assertTrue(os.path.exists(os.path.join(
            self.root, "usr/local/lib/python3/dist-packages/mpqdev/_mpqdev.abi3.so")))


if __name__ == "__main__":
    tap.main()
