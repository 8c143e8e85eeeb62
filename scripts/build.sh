#!/usr/bin/env bash
# Builds the release site that `make run` serves and `make test` tests: the server
# (`release` profile) and the wasm bundle (`wasm-release`), with hashed asset names.
# Prints the size of what a shopper downloads. Run scripts/setup.sh first.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
export SQLX_OFFLINE=true
# cargo-leptos sets its own variables for cargo; inherited ones it would read as overrides.
for var in "${LEPTOS_BUILD_ENV[@]}"; do unset "${var%%=*}"; done

# cargo-leptos runs wasm-bindgen and wasm-opt on every build (45 s here), changed or not.
# What the build reads is fingerprinted instead: the workspace's files (tracked or new,
# as they are on disk, this script and its build flags too), the tools' versions and cargo's variables; with the same
# fingerprint and the same outputs as the last build, there is nothing to do.
fingerprint() {
  {
    git ls-files -z -co --exclude-standard -- Cargo.toml Cargo.lock package-lock.json \
      app frontend server domain services style public migrations .sqlx scripts/build.sh |
      xargs -0 sha256sum 2>/dev/null || true
    rustc -V; cargo leptos --version; wasm-bindgen --version; wasm-opt --version 2>/dev/null || true
    env | grep -E '^(CARGO|RUSTFLAGS|RUSTC|LEPTOS_)' | sort || true
  } | sha256sum | cut -c1-64
}
outputs() { # the built files as they are now: size and time of the server, hashes
  stat -c '%s %Y' target/release/server 2>/dev/null || true
  cat target/release/hash.txt 2>/dev/null || true
  ls -l --time-style=+%s target/site/pkg 2>/dev/null || true
}
STAMP=target/release/.emporium-site-build
now="$(fingerprint)"
# Outside a git checkout the files cannot be listed: always build.
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || rm -f "$STAMP"
if [ -f "$STAMP" ] && [ "$(head -n 1 "$STAMP")" = "$now" ] && [ "$(tail -n +2 "$STAMP")" = "$(outputs)" ]; then
  say "the release site is up to date (nothing it is built from changed since its last build)"
else
  if [ ! -x target/release/server ] || [ ! -d target/front/wasm32-unknown-unknown/wasm-release ]; then
    say "building the release site for the first time: about 11 minutes on 2 cores (later builds: seconds when nothing changed, a few minutes after a change)"
  else
    say "building the release site"
  fi
  started=$(date +%s)
  rm -f "$STAMP"
  # --precompress: each asset also as .br (brotli at its best quality) and .gz, which the
  # server sends as they are instead of compressing on the fly at a lower quality.
  cargo leptos build --release --precompress
  { echo "$now"; outputs; } >"$STAMP"
  say "release site built in $(( $(date +%s) - started )) s"
fi

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
  const file = path.join(pkg, `emporium.${hashes[ext]}.${ext}`);
  if (!fs.existsSync(file)) { console.error(`error: ${file} is missing`); process.exit(1); }
  const raw = fs.readFileSync(file);
  const br = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } });
  parts.push(`${ext} ${kb(raw.length)} raw / ${kb(br.length)} brotli`);
}
console.log(`release bundle: ${parts.join(" · ")} (brotli quality 11)`);
JS
