"""One OPA-style pass over an estate with regopy: parse every file, query allowed-repos per object.

The policy is compiled once into a bundle (as OPA compiles a policy before serving queries); each
object is then set as the input and the `violation` entrypoint of the bundle is evaluated.

Runs in the peers' virtualenv (`bench/.venv-peers`), not the project's. Prints one JSON line:
{"seconds": wall time of the whole pass, YAML parsing included, "objects": n, "violations": n}.
Usage: python bench/rego_pass.py MANIFEST_DIR REPO_PREFIX...
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import yaml
from regopy import Interpreter

POLICY = Path(__file__).with_name("k8sallowedrepos.rego")
ENTRYPOINT = "k8sallowedrepos/violation"


def main() -> None:
    directory, prefixes = Path(sys.argv[1]), sys.argv[2:]
    start = time.perf_counter()
    compiler = Interpreter()
    compiler.add_module("k8sallowedrepos", POLICY.read_text())
    compiler.add_data({"parameters": {"repos": prefixes}})
    bundle = compiler.build(None, [ENTRYPOINT])
    if not bundle.ok():
        raise SystemExit(f"{POLICY}: does not compile")
    rego = Interpreter()
    objects = violations = 0
    for path in sorted(directory.rglob("*.yaml")):
        for obj in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
            if not isinstance(obj, dict):
                continue
            objects += 1
            rego.set_input(obj)
            output = rego.query_bundle_entrypoint(bundle, ENTRYPOINT)
            found = output[0].expressions[0] if output.ok() else None
            if found is None:
                raise SystemExit(f"regopy failed on {path}: {output}")
            violations += len(found)
    print(json.dumps({"seconds": time.perf_counter() - start, "objects": objects, "violations": violations}))


if __name__ == "__main__":
    main()
