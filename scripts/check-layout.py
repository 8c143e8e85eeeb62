#!/usr/bin/env python3
"""Checks the layout rules of ARCHITECTURE.md that the compiler does not:

- `app/src` is grouped by area; an area (storefront, account, checkout, admin) never
  names another area, and `components/` and `error.rs` name no area: areas share code
  only through `components/` and `domain`.
- No file imports a file that imports it back (directly or around a longer circle).
- `services` never depends on web-layer crates: it takes plain values.

Prints each broken rule with the file and the path it names; exits 1 if any.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app" / "src"
AREAS = {"storefront", "account", "checkout", "admin"}
WEB_CRATES = {"tower-sessions", "axum", "axum-core", "leptos", "leptos_axum", "http", "tower", "tower-http"}

problems = []


def module_of(path):
    """Module path (list of names) of a source file, relative to the crate root."""
    rel = path.relative_to(APP).with_suffix("")
    parts = list(rel.parts)
    if parts in (["lib"], ["main"]):
        return []
    if parts[-1] == "mod":
        parts = parts[:-1]
    return parts


def file_of(module):
    """The file defining a module path, or None when no such file (inline or an item)."""
    if not module:
        return APP / "lib.rs"
    base = APP.joinpath(*module)
    for candidate in (base.with_suffix(".rs"), base / "mod.rs"):
        if candidate.is_file():
            return candidate
    return None


def resolve(segments):
    """The deepest file a path like ['components', 'layout', 'Frame'] leads into."""
    found = APP / "lib.rs"
    for i in range(1, len(segments) + 1):
        f = file_of(segments[:i])
        if f is None:
            break
        found = f
    return found


def split_top(s):
    """Splits a use-group body at its top-level commas."""
    items, depth, cur = [], 0, ""
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    return [i.strip() for i in items if i.strip()]


def expand(path):
    """All module paths a `use` tree names: `a::{b::C, d}` -> [a::b::C, a::d]."""
    path = re.sub(r"\s+", "", path)
    m = re.match(r"^([\w:]*?)(?:::)?\{(.*)\}$", path)
    if not m:
        return [path.split(" as ")[0]]
    prefix, body = m.group(1), m.group(2)
    out = []
    for item in split_top(body):
        for tail in expand(item):
            out.append(f"{prefix}::{tail}" if prefix else tail)
    return out


PATH_RE = re.compile(r"(?<!::)\b(crate|super|\w+)((?:::(?:\w+|\{[^;]*?\}))+)")


def references(path, text):
    """(segments, shown) of every crate::/super:: path in a file, made absolute."""
    # Inline test modules (at the end of a file, by habit) resolve `super` differently.
    text = text.split("#[cfg(test)]")[0]
    text = "\n".join(line.split("//")[0] for line in text.splitlines())
    here = module_of(path)
    parent = here[:-1] if here else []
    refs = []
    for m in PATH_RE.finditer(text):
        head, rest = m.group(1), m.group(2)
        if head not in ("crate", "super"):
            # A child module named from its parent (`components::layout` in lib.rs).
            if file_of(here + [head]) is None or path.name not in ("lib.rs", "mod.rs"):
                continue
            rest = f"::{head}{rest}"
            head = "self"
        for p in expand(rest.lstrip(":")):
            segments = [s for s in p.split("::") if s and s != "self"]
            if head == "self":
                segments = here + segments
            elif head == "super":
                while segments and segments[0] == "super":
                    segments.pop(0)
                segments = parent + segments
            refs.append((segments, f"{head}::{p}"))
    return refs


def area(module):
    return module[0] if module and module[0] in AREAS else None


edges = {}
for path in sorted(APP.rglob("*.rs")):
    module = module_of(path)
    mine = module[0] if module else None
    targets = set()
    for segments, shown in references(path, path.read_text()):
        named = segments[0] if segments else None
        if named in AREAS and mine != named and mine is not None:
            who = "components/" if mine == "components" else f"{mine}/" if mine in AREAS else f"{mine}.rs"
            problems.append(f"{path.relative_to(ROOT)}: {who} names another area: {shown}")
        target = resolve(segments)
        if target != path:
            targets.add(target)
    edges[path] = targets

# Circles: depth-first search over the file graph.
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

# services: no web-layer dependency.
manifest = (ROOT / "services" / "Cargo.toml").read_text()
deps = re.findall(r"^([\w-]+)(?:\.workspace|\s*=)", manifest, re.M)
for dep in deps:
    if dep in WEB_CRATES:
        problems.append(f"services/Cargo.toml: services depends on the web-layer crate {dep}")

if problems:
    print("layout check failed:")
    for p in problems:
        print("  " + p)
    sys.exit(1)
print(f"layout check: {len(edges)} files in app/src, areas apart, no import circles; services free of web-layer crates")
