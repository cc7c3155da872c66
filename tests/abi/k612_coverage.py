#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Completeness check for tests/abi/abi_6_12.cpp.

Extracts every #define, struct (with its fields) and enumerator from a uapi
iommufd.h (Debian's 6.12 copy), and every entry of the X-macro lists and the
#undef block of abi_6_12.cpp, and fails if the header has anything the lists
do not cover. The static_asserts only check what the lists name; this script
makes sure they name everything.

The same check serves tests/abi/abi_test_6_12.cpp against the 6.12
iommufd_test.h: name the lists' prefix as a third argument (K612T there;
default K612). A member of an unnamed struct type that has a name of its own
("struct { ... } add_reserved;") is reported as the member itself and as one
path per field inside it ("add_reserved.start"); members of anonymous
unions and structs belong to the parent, as in C.

Usage: k612_coverage.py <6.12 header> <test .cpp> [LIST_PREFIX]
Exit status 0 when complete, 1 when something is missing, 2 on a parse or
usage problem. Missing items are printed one per line.
"""

import re
import sys


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def matching_brace(text, open_idx):
    depth = 0
    for i in range(open_idx, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced braces")


def parse_members(body, struct, prefix=""):
    """Field names of a struct body, in order, with nested named members as paths."""
    fields = []
    pos = 0
    while True:
        m = re.compile(r"\b(?:union|struct)\s*\{").search(body, pos)
        chunk_end = m.start() if m else len(body)
        fields += parse_plain(body[pos:chunk_end], struct, prefix)
        if not m:
            return fields
        close = matching_brace(body, m.end() - 1)
        semi = body.index(";", close)
        name = re.findall(r"[A-Za-z_]\w*", body[close + 1:semi])
        if name:    # "struct { ... } name;": the member and its fields by path
            fields.append(prefix + name[-1])
            fields += parse_members(body[m.end():close], struct, prefix + name[-1] + ".")
        else:       # anonymous: its members belong to the parent
            fields += parse_members(body[m.end():close], struct, prefix)
        pos = semi + 1


def parse_plain(text, struct, prefix):
    """Declarators of a run of plain member declarations."""
    fields = []
    for decl in text.split(";"):
        decl = re.sub(r"__attribute__\s*\(\(.*?\)\)", " ", decl).strip()
        if not decl:
            continue
        # "type a, b[3]" -> declarators after the type.
        for d in decl.split(","):
            d = re.sub(r"\[[^\]]*\]", "", d)      # arrays
            d = re.sub(r":\s*\w+\s*$", "", d)     # bit-fields
            ids = re.findall(r"[A-Za-z_]\w*", d)
            if not ids:
                raise ValueError(f"cannot parse field '{decl}' in struct {struct}")
            fields.append(prefix + ids[-1])
    return fields


def parse_header(path):
    """Return (defines, {struct: [fields]}, {(enum or None, name)})."""
    text = strip_comments(open(path, encoding="utf-8").read())

    defines = set(re.findall(r"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)", text, flags=re.M))
    # Preprocessor lines (and their continuations) carry no declarations.
    body_text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", "", text, flags=re.M)

    structs = {}
    for m in re.finditer(r"\bstruct\s+([A-Za-z_]\w*)\s*\{", body_text):
        end = matching_brace(body_text, m.end() - 1)
        structs[m.group(1)] = parse_members(body_text[m.end():end], m.group(1))

    enums = set()
    for m in re.finditer(r"\benum\s*([A-Za-z_]\w*)?\s*\{", body_text):
        end = matching_brace(body_text, m.end() - 1)
        for item in body_text[m.end():end].split(","):
            item = item.strip()
            if not item:
                continue
            name = re.match(r"([A-Za-z_]\w*)", item)
            if not name:
                raise ValueError(f"cannot parse enumerator '{item}'")
            enums.add((m.group(1), name.group(1)))
    return defines, structs, enums


def macro_body(text, name):
    """Text of a multi-line #define NAME(...) in the test file."""
    m = re.search(r"^#define\s+" + name + r"\([^)]*\)[ \t]*\\\n((?:[^\n]*\\\n)*[^\n]*)", text, flags=re.M)
    if not m:
        raise ValueError(f"no #define {name}(...) in the test file")
    return m.group(1)


def entries(body, tag):
    return [tuple(a.strip() for a in args.split(","))
            for args in re.findall(r"\b" + tag + r"\(([^()]*)\)", body)]


def parse_test(path, prefix="K612"):
    text = open(path, encoding="utf-8").read()
    guards = {e[0] for e in entries(macro_body(text, prefix + "_GUARDS"), "G")}
    macros = {e[0] for e in entries(macro_body(text, prefix + "_MACROS"), "M")}
    structs = {e[0] for e in entries(macro_body(text, prefix + "_STRUCTS"), "S")}
    fbody = macro_body(text, prefix + "_FIELDS")
    fields = {(e[0], e[1]) for e in entries(fbody, "F")}
    fields |= {(e[0], e[1]) for e in entries(fbody, "SPAN")}
    ebody = macro_body(text, prefix + "_ENUMS")
    enums = {(e[0], e[1]) for e in entries(ebody, "E")}
    enums |= {(None, e[0]) for e in entries(ebody, "A")}
    undefs = set(re.findall(r"^[ \t]*#[ \t]*undef[ \t]+([A-Za-z_]\w*)", text, flags=re.M))
    return guards, macros, structs, fields, enums, undefs


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: k612_coverage.py <6.12 header> <test .cpp> [LIST_PREFIX]", file=sys.stderr)
        return 2
    prefix = argv[3] if len(argv) == 4 else "K612"
    try:
        h_defines, h_structs, h_enums = parse_header(argv[1])
        guards, macros, structs, fields, enums, undefs = parse_test(argv[2], prefix)
    except (OSError, ValueError) as err:
        print(f"error: {err}")
        return 2

    h_fields = {(s, f) for s, fl in h_structs.items() for f in fl}
    if not h_defines or not h_structs or not h_fields or not h_enums:
        print("error: parsed an empty header; wrong file?")
        return 2

    missing = []
    missing += [f"#define {d}" for d in sorted(h_defines - guards - macros)]
    missing += [f"#undef {d} (listed but not #undef'd)" for d in sorted((guards | macros) - undefs)]
    missing += [f"struct {s}" for s in sorted(set(h_structs) - structs)]
    missing += [f"field {s}::{f}" for s, f in sorted(h_fields - fields)]
    missing += [f"enumerator {e or '<anonymous>'}::{n}"
                for e, n in sorted(h_enums - enums, key=lambda x: (x[0] or "", x[1]))]
    # A list entry the header does not have would already fail to compile;
    # a wrong enum tag is caught by the static_asserts. Report them anyway.
    stale = [f"listed but not in header: {x}" for x in
             sorted({f"{s}::{f}" for s, f in fields - h_fields} |
                    {s for s in structs - set(h_structs)} |
                    {f"{e or '<anonymous>'}::{n}" for e, n in enums - h_enums})]

    print(f"{argv[1]}: {len(h_structs)} structs, {len(h_fields)} fields, "
          f"{len(h_enums)} enumerators, {len(h_defines)} #defines")
    for line in missing + stale:
        print(f"missing from {argv[2]}: {line}" if line in missing else line)
    return 1 if missing or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
