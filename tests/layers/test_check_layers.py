#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""scripts/check_layers.py on small temporary trees: it passes a tree whose includes follow
ARCHITECTURE.md's layers table, and fails (exit 1, naming file, line, both layers) on each kind of
wrong-way include the project forbids; a file outside every layer is exit 2. The real tree is
checked by the ctest test_layers (check_layers.py on the repository)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
CHECKER = os.path.join(REPO, "scripts", "check_layers.py")


class CheckLayers(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="check_layers_")
        shutil.copy(os.path.join(REPO, "ARCHITECTURE.md"), self.root)
        # A minimal tree that follows the rules: each layer includes only what it may.
        self.write("harness/error.h", "#pragma once\n")
        self.write("harness/kernels/topk.h", '#include "harness/error.h"\n')
        self.write("harness/kv/method.h", '#include "harness/kernels/topk.h"\n#include "harness/error.h"\n')
        self.write("harness/model/causal_lm.h", '#include "harness/kv/method.h"\n')
        self.write("harness/task/task.h", '#include "harness/error.h"\n')
        self.write("harness/engine/engine.h", '#include "harness/task/task.h"\n#include "harness/model/causal_lm.h"\n')
        self.write("harness/run/runner.h", '#include "harness/engine/engine.h"\n')
        self.write("harness/main.cpp", '#include "harness/run/runner.h"\n#include "reports/table.h"\n')
        self.write("methods/full.cpp", '#include "harness/kv/method.h"\n#include <vector>\n')
        self.write("datasets/niah.cpp", '#include "harness/task/task.h"\n#include "datasets/files.h"\n')
        self.write("metrics/rouge.cpp", '#include "harness/task/task.h"\n')
        self.write("reports/table.h", '#include "harness/error.h"\n')

    def tearDown(self):
        shutil.rmtree(self.root)

    def write(self, rel, text):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)

    def check(self):
        r = subprocess.run([sys.executable, CHECKER, self.root], capture_output=True, text=True)
        return r.returncode, r.stderr

    def test_clean_tree_passes(self):
        code, err = self.check()
        self.assertEqual(code, 0, err)

    def assert_rejected(self, rel, include, source_layer, target_layer):
        self.write(rel, "// a comment line\n#include \"%s\"\n" % include)
        code, err = self.check()
        self.assertEqual(code, 1, err)
        self.assertIn("%s:2: layer %s must not include %s (layer %s" % (rel, source_layer, include, target_layer), err)

    def test_harness_including_a_plugin_fails(self):
        self.assert_rejected("harness/run/sweep.cpp", "methods/method.h", "run", "methods")
        self.assert_rejected("harness/engine/hf.cpp", "datasets/task.h", "engine", "datasets")

    def test_plugin_including_the_model_fails(self):
        self.assert_rejected("methods/quest.cpp", "harness/model/attention.h", "methods", "model")
        self.assert_rejected("datasets/gsm8k.cpp", "harness/model/causal_lm.h", "datasets", "model")

    def test_reports_including_model_or_methods_fails(self):
        self.assert_rejected("reports/compare.cpp", "methods/method.h", "reports", "methods")
        self.assert_rejected("reports/compare.cpp", "harness/model/causal_lm.h", "reports", "model")

    def test_lower_layer_including_a_higher_one_fails(self):
        self.assert_rejected("harness/kv/memory.h", "harness/model/model_config.h", "kv", "model")
        self.assert_rejected("harness/kernels/gather.cpp", "harness/kv/ops.h", "kernels", "kv")
        self.assert_rejected("harness/hashing.cpp", "harness/run/runner.h", "base", "run")

    def test_plugins_do_not_include_each_other(self):
        self.assert_rejected("datasets/longbench.cpp", "metrics/longbench_scorer.h", "datasets", "metrics")

    def test_file_outside_every_layer_is_reported(self):
        self.write("harness/run/../../stray/x.cpp", "")
        # stray/ is not a top folder of any layer: not scanned. A file directly in a scanned
        # top folder that no prefix covers is:
        with open(os.path.join(self.root, "ARCHITECTURE.md")) as f:
            text = f.read()
        with open(os.path.join(self.root, "ARCHITECTURE.md"), "w") as f:
            f.write(text.replace("metrics    metrics/", "metrics    metrics/sub/"))
        code, err = self.check()
        self.assertEqual(code, 2, err)
        self.assertIn("metrics/rouge.cpp: belongs to no layer", err)


if __name__ == "__main__":
    unittest.main()
