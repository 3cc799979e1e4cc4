#!/usr/bin/env bash
# Smoke test of a built package: the frozen app opens its window offscreen, speaks one sentence through
# its engine process, exports the take; then the frozen command line speaks one sentence too.
set -euo pipefail
app="${1:-dist/prufrock/prufrock}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
QT_QPA_PLATFORM=offscreen "$app" studio --smoke "$out/studio.wav"
"$app" say "The packaged command line speaks too." -o "$out/say.wav"
for f in studio.wav say.wav; do
  size=$(stat -c %s "$out/$f")
  [ "$size" -gt 10000 ] || { echo "smoke: $f is only $size bytes" >&2; exit 1; }
done
echo "smoke: passed ($(du -sh "$(dirname "$app")" | cut -f1) build)"
