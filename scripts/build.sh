#!/usr/bin/env bash
# Builds the release site that `make run` serves and `make test` tests: the server
# (`release` profile) and the wasm bundle (`wasm-release`), with hashed asset names.
# Prints the size of what a shopper downloads. Run scripts/setup.sh first.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
leptos_build_env

if [ ! -x target/release/server ] || [ ! -d target/front/wasm32-unknown-unknown/wasm-release ]; then
  say "building the release site for the first time: about 15 minutes on 2 cores (later builds: seconds to a few minutes)"
else
  say "building the release site"
fi
started=$(date +%s)
cargo leptos build --release
say "release site built in $(( $(date +%s) - started )) s"

# What the shopper's browser downloads: raw, and brotli at its best quality (11). The
# smoke test prints what the server really sends.
hashes="target/release/hash.txt"
[ -f "$hashes" ] || die "cargo-leptos wrote no $hashes: the assets are not hashed"
pkg="target/site/pkg"
node - "$pkg" "$hashes" <<'JS'
const fs = require("fs"), zlib = require("zlib"), path = require("path");
const [pkg, hashFile] = process.argv.slice(2);
// hash.txt holds lines such as `wasm: 1a2b…`; the files are emporium.<hash>.<ext>.
const hashes = Object.fromEntries(fs.readFileSync(hashFile, "utf8").split("\n")
  .filter((l) => l.includes(":")).map((l) => l.split(":").map((s) => s.trim())));
const kb = (n) => `${(n / 1024).toFixed(0)} KB`;
const parts = [];
for (const ext of ["wasm", "js", "css"]) {
  const file = path.join(pkg, `emporium.${hashes[ext]}.${ext === "wasm" ? "wasm" : ext}`);
  if (!fs.existsSync(file)) { console.error(`error: ${file} is missing`); process.exit(1); }
  const raw = fs.readFileSync(file);
  const br = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } });
  parts.push(`${ext} ${kb(raw.length)} raw / ${kb(br.length)} brotli`);
}
console.log(`release bundle: ${parts.join(" · ")} (brotli quality 11)`);
JS
