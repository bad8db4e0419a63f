# SPDX-License-Identifier: Apache-2.0
# CPU tests never depend on nvcc (issue 19): configures the project once more as on a machine without
# the CUDA toolkit (KVBENCH_CUDA=OFF; no CUDA directory on PATH; LibTorch taken from the wheel directly,
# as cmake/KvbenchTorch.cmake does when the wheel's TorchConfig cannot find CUDA), and compares that
# configuration's test list with the given build's: every test of the build that is not labelled gpu
# must be registered there too. Configure only (seconds); nothing is compiled.
# Exit 0 when nothing is missing, 1 with the missing names otherwise, 2 when a step cannot run.
import argparse
import json
import os
import shutil
import subprocess
import sys


def list_tests(build_dir):
    """{test name: set of labels} from `ctest --show-only=json-v1` in build_dir."""
    out = subprocess.run(["ctest", "--test-dir", build_dir, "--show-only=json-v1"], check=True,
                         capture_output=True, text=True).stdout
    tests = {}
    for test in json.loads(out)["tests"]:
        labels = set()
        for prop in test.get("properties", []):
            if prop["name"] == "LABELS":
                labels.update(prop["value"])
        tests[test["name"]] = labels
    return tests


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True, help="the project's source directory")
    parser.add_argument("--build", required=True, help="the configured build whose test list is checked")
    parser.add_argument("--scratch", required=True, help="directory for the configure without CUDA (replaced)")
    parser.add_argument("--generator", default="Ninja")
    parser.add_argument("--prefix-path", default="", help="CMAKE_PREFIX_PATH of the build (LibTorch)")
    parser.add_argument("--python", default="python3", help="KVBENCH_PYTHON of the build")
    args = parser.parse_args()

    shutil.rmtree(args.scratch, ignore_errors=True)
    configure = ["cmake", "-S", args.source, "-B", args.scratch, "-G", args.generator,
                 "-DKVBENCH_CUDA=OFF", "-DCMAKE_DISABLE_FIND_PACKAGE_Torch=ON",
                 f"-DKVBENCH_PYTHON={args.python}"]
    if args.prefix_path:
        configure.append(f"-DCMAKE_PREFIX_PATH={args.prefix_path}")
    env = {k: v for k, v in os.environ.items() if k not in ("CUDACXX", "CUDA_HOME", "CUDA_PATH")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if "cuda" not in p.lower())
    result = subprocess.run(configure, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        print(f"configure without CUDA failed ({' '.join(configure)}):\n{result.stdout}{result.stderr}")
        return 2
    if "kvbench: CUDA kernels OFF" not in result.stdout:
        print("configure without CUDA did not report 'kvbench: CUDA kernels OFF':\n" + result.stdout)
        return 2

    with_build = list_tests(args.build)
    without_cuda = list_tests(args.scratch)
    cpu_tests = sorted(name for name, labels in with_build.items() if "gpu" not in labels)
    missing = [name for name in cpu_tests if name not in without_cuda]
    shutil.rmtree(args.scratch, ignore_errors=True)
    if missing:
        print(f"{len(missing)} test(s) of {args.build} not labelled gpu are not registered without CUDA "
              f"(register them unconditionally in tests/CMakeLists.txt, or label them gpu): "
              + ", ".join(missing))
        return 1
    print(f"ok: all {len(cpu_tests)} non-gpu tests of {args.build} are registered without CUDA "
          f"({len(without_cuda)} tests there)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
