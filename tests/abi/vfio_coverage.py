#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Completeness check for tests/abi/vfio_abi_6_12.cpp.

The static_asserts of vfio_abi_6_12.cpp only check what its X-macro lists
name; this fails when uapi/vfio_compat.h declares a #define, struct or field
the lists do not name (or the #undef block misses a listed macro), and when
a list names something the header no longer has.  The parsing is
k612_coverage.py's.

Usage: vfio_coverage.py <uapi/vfio_compat.h> <vfio_abi_6_12.cpp>
Exit status 0 when complete, 1 when something is missing, 2 on a parse or
usage problem.
"""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from k612_coverage import entries, macro_body, parse_header  # noqa: E402


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: vfio_coverage.py <uapi/vfio_compat.h> <vfio_abi_6_12.cpp>", file=sys.stderr)
        return 2
    try:
        h_defines, h_structs, _ = parse_header(argv[1])
        text = open(argv[2], encoding="utf-8").read()
        guards = {e[0] for e in entries(macro_body(text, "VFIO_GUARDS"), "G")}
        macros = {e[0] for e in entries(macro_body(text, "VFIO_MACROS"), "M")}
        structs = {e[0] for e in entries(macro_body(text, "VFIO_STRUCTS"), "S")}
        body = macro_body(text, "VFIO_FIELDS")
        fields = set()
        for tag in ("F", "STRUCT", "FLEX", "PAD"):
            fields |= {(e[0], e[1]) for e in entries(body, tag)}
    except (OSError, ValueError) as err:
        print(f"error: {err}")
        return 2
    undefs = set(re.findall(r"^[ \t]*#[ \t]*undef[ \t]+([A-Za-z_]\w*)", text, flags=re.M))
    h_fields = {(s, f) for s, fl in h_structs.items() for f in fl}
    if not h_defines or not h_structs or not h_fields:
        print("error: parsed an empty header; wrong file?")
        return 2

    missing = [f"#define {d}" for d in sorted(h_defines - guards - macros)]
    missing += [f"#undef {d} (listed but not #undef'd)" for d in sorted((guards | macros) - undefs)]
    missing += [f"struct {s}" for s in sorted(set(h_structs) - structs)]
    missing += [f"field {s}::{f}" for s, f in sorted(h_fields - fields)]
    stale = sorted({f"macro {m}" for m in macros - h_defines} |
                   {f"struct {s}" for s in structs - set(h_structs)} |
                   {f"field {s}::{f}" for s, f in fields - h_fields})

    print(f"{argv[1]}: {len(h_structs)} structs, {len(h_fields)} fields, "
          f"{len(h_defines)} #defines")
    for line in missing:
        print(f"missing from {argv[2]}: {line}")
    for line in stale:
        print(f"listed but not in {argv[1]}: {line}")
    return 1 if missing or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
