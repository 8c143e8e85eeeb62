#!/usr/bin/env python3
"""Checks the layout rules of the architecture (../shared/ARCHITECTURE.md) that the
compiler does not:

- `app/src` is grouped by area; an area (storefront, account, checkout, admin) never
  names another area, and `components/` and `error.rs` name no area: areas share code
  only through `components/` and `domain`.
- No file imports a file that imports it back (directly or around a longer circle).

It reads Rust as tokens (comments and string literals removed), follows every path
starting with `crate`, `super`, `self` or a child module (in `use` trees with nested
braces and `as`, and in expressions), and resolves it to the file that defines the module
it leads into; inline `mod x { … }` blocks are modules of their own. Prints each broken
rule with the file and the path it names; exits 1 if any.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app" / "src"
AREAS = {"storefront", "account", "checkout", "admin"}

TOKEN = re.compile(
    r"""
    (?P<comment>//[^\n]*|/\*(?:.|\n)*?\*/)
  | (?P<raw>b?r(?P<hashes>\#*)"(?:.|\n)*?"(?P=hashes))
  | (?P<string>b?"(?:\\.|[^"\\])*")
  | (?P<char>b?'(?:\\.|[^'\\])')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<path>::)
  | (?P<punct>[{}();,*])
  | (?P<other>\S)
    """,
    re.X,
)


def tokens(text):
    """Identifiers and the punctuation paths are made of; comments, strings, chars and
    lifetimes dropped."""
    out = []
    for m in TOKEN.finditer(text):
        kind = m.lastgroup
        if kind in ("comment", "raw", "string", "char"):
            continue
        if kind == "hashes":
            continue
        out.append(m.group(0))
    return out


def module_of(path):
    rel = path.relative_to(APP).with_suffix("")
    parts = list(rel.parts)
    if parts in (["lib"], ["main"]):
        return []
    if parts[-1] == "mod":
        parts = parts[:-1]
    return parts


def file_of(module):
    if not module:
        return APP / "lib.rs"
    base = APP.joinpath(*module)
    for candidate in (base.with_suffix(".rs"), base / "mod.rs"):
        if candidate.is_file():
            return candidate
    return None


def resolve(segments, inline):
    """The file a module path leads into: the deepest module along it with a file of its
    own (an inline module belongs to the file that holds it)."""
    found = APP / "lib.rs"
    for i in range(1, len(segments) + 1):
        prefix = tuple(segments[:i])
        f = inline.get(prefix) or file_of(list(prefix))
        if f is None:
            break
        found = f
    return found


def parse_tree(toks, i):
    """A `use`-style tree at toks[i]: returns (list of segment lists, next index)."""
    if toks[i] == "{":
        paths, i = [], i + 1
        while toks[i] != "}":
            sub, i = parse_tree(toks, i)
            paths += sub
            if toks[i] == ",":
                i += 1
        return paths, i + 1
    if toks[i] == "*":
        return [[]], i + 1
    segments = [toks[i]]
    i += 1
    while i + 1 < len(toks) and toks[i] == "::":
        if toks[i + 1] in ("{", "*"):
            subs, i = parse_tree(toks, i + 1)
            return [segments + s for s in subs], i
        segments.append(toks[i + 1])
        i += 2
    if i + 1 < len(toks) and toks[i] == "as":
        i += 2
    return [segments], i


def references(path):
    """(absolute module path, as written) of every path in the file that starts at the
    crate root, a parent, itself or a child module."""
    toks = tokens(path.read_text())
    file_module = module_of(path)
    # Stack of (module, brace depth at which it closes) for inline `mod x { … }`.
    scopes = [(file_module, -1)]
    depth = 0
    inline = {}
    children = set()
    refs = []
    i = 0
    while i < len(toks):
        t = toks[i]
        here = scopes[-1][0]
        if t == "mod" and i + 2 < len(toks) and re.match(r"\w+$", toks[i + 1]):
            name, after = toks[i + 1], toks[i + 2]
            if after == ";":
                children.add((tuple(here), name))
            elif after == "{":
                inline[tuple(here + [name])] = path
                children.add((tuple(here), name))
                scopes.append((here + [name], depth))
                depth += 1
                i += 3
                continue
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
            if scopes[-1][1] == depth:
                scopes.pop()
        starts = t in ("crate", "super", "self") or (tuple(here), t) in children
        follows_path = i > 0 and toks[i - 1] == "::"
        if starts and not follows_path and i + 1 < len(toks) and toks[i + 1] == "::":
            trees, nxt = parse_tree(toks, i)
            for segments in trees:
                shown = "::".join(segments)
                absolute = absolute_path(segments, here)
                if absolute is not None:
                    refs.append((absolute, shown))
            i = nxt
            continue
        i += 1
    return refs, inline


def absolute_path(segments, here):
    segments = [s for s in segments]
    if segments[0] == "crate":
        return segments[1:]
    base = list(here)
    if segments[0] == "self":
        segments = segments[1:]
    else:
        while segments and segments[0] == "super":
            if not base:
                return None
            base = base[:-1]
            segments = segments[1:]
    return base + [s for s in segments if s != "self"]


problems = []
edges = {}
all_inline = {}
files = sorted(APP.rglob("*.rs"))
parsed = {p: references(p) for p in files}
for _, inline in parsed.values():
    all_inline.update(inline)
for path in files:
    refs, _ = parsed[path]
    mine = (module_of(path) or [None])[0]
    targets = set()
    for segments, shown in refs:
        named = segments[0] if segments else None
        if named in AREAS and mine is not None and mine != named:
            where = f"{mine}/" if mine in AREAS or mine == "components" else f"{mine}.rs"
            problems.append(f"{path.relative_to(ROOT)}: {where} names another area: {shown}")
        target = resolve(segments, all_inline)
        if target != path:
            targets.add(target)
    edges[path] = targets

WHITE, GREY, BLACK = 0, 1, 2
colour = {p: WHITE for p in edges}
stack = []


def visit(p):
    colour[p] = GREY
    stack.append(p)
    for q in sorted(edges.get(p, ())):
        if colour.get(q, BLACK) == GREY:
            circle = stack[stack.index(q):] + [q]
            problems.append("import circle: " + " -> ".join(str(c.relative_to(APP)) for c in circle))
        elif colour.get(q) == WHITE:
            visit(q)
    stack.pop()
    colour[p] = BLACK


for p in sorted(edges):
    if colour[p] == WHITE:
        visit(p)

if problems:
    print("layout check failed:")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print(f"layout check: {len(edges)} files in app/src, areas apart, no import circles")
