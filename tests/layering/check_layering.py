#!/usr/bin/env python3
"""Checks that dependencies point one way, as the CMakeLists declare them.

Every #include "..." of a project header in a library folder must name a
folder that the including folder may depend on. The rules are the design's
picture (README's layout table): sql sees only proto; the engine's parts
see only the parts before them and never operators/, connectors/ or sql/;
operators and connectors see the engine but not each other; only
engine/app puts everything together. A violation is printed as
path:line: what it includes, and why it may not.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()

ENGINE = ["engine/core", "engine/expr", "engine/state", "engine/exec", "engine/runtime"]
# folder -> the folders whose headers it may include (besides its own)
ALLOWED = {
    "proto": [],
    "sql": ["proto"],
    "engine/core": ["proto"],
    "engine/expr": ["proto", "engine/core"],
    "engine/state": ["proto", "engine/core"],
    "engine/exec": ["proto", "engine/core", "engine/expr", "engine/state"],
    "engine/runtime": ["proto"] + ENGINE[:4],
    "engine/control": ["proto"],
    "operators": ["proto"] + ENGINE[:4],
    "connectors": ["proto"] + ENGINE,
    "engine/app/base": ["proto", "sql", "operators", "connectors", "engine/control"] + ENGINE,
    "engine/app/worker": ["proto", "sql", "operators", "connectors", "engine/control",
                          "engine/app/base"] + ENGINE,
    "engine/app/control": ["proto", "sql", "operators", "connectors", "engine/control",
                           "engine/app/base", "engine/app/worker"] + ENGINE,
    "bench/harness": ["proto", "sql", "operators", "connectors", "engine/control",
                      "engine/app/base", "engine/app/worker"] + ENGINE,
    "engine/app": ["proto", "sql", "operators", "connectors", "engine/control", "engine/app/base",
                   "engine/app/worker", "engine/app/control", "bench/harness"] + ENGINE,
}
PROJECT = ("proto/", "sql/", "engine/", "operators/", "connectors/", "bench/")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def folder_of(relative: str, folders) -> str | None:
    """The most specific rule folder that holds `relative`."""
    best = None
    for folder in folders:
        if relative == folder or relative.startswith(folder + "/"):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def main() -> int:
    folders = list(ALLOWED)
    problems = []
    checked = 0
    for path in sorted(ROOT.rglob("*")):
        if path.suffix not in (".h", ".cc") or not path.is_file():
            continue
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(("build", "tests/", "bench/") ) and not relative.startswith(
                "bench/harness/"):
            continue
        owner = folder_of(relative, folders)
        if owner is None:
            continue
        checked += 1
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            match = INCLUDE.match(line)
            if not match or not match.group(1).startswith(PROJECT):
                continue
            target = folder_of(match.group(1), folders)
            if target is None or target == owner or target in ALLOWED[owner]:
                continue
            problems.append(f"{relative}:{number}: includes {match.group(1)}, but {owner}/ may "
                            f"depend only on {', '.join(ALLOWED[owner]) or 'nothing'}")
    for problem in problems:
        print(problem)
    if checked < 50:
        print(f"only {checked} source files found under {ROOT}: wrong root?")
        return 1
    print(f"{checked} files checked, {len(problems)} includes against the layering")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
