#!/bin/sh
# Seeds the fuzz corpora from the repository's inputs (run from anywhere):
#   parse, check: every policy (policies/, tests/**/*.rpl)
#   judge: each shipped policy with each of its examples, joined by a NUL byte,
#          every example case alone, and the hostile corpus's pairs.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
corpus="$root/fuzz/corpus"
mkdir -p "$corpus/parse" "$corpus/check" "$corpus/judge"
n=0
for f in "$root"/policies/*.rpl $(find "$root/tests" -name '*.rpl' | sort); do
    n=$((n + 1))
    cp "$f" "$corpus/parse/seed-$n.rpl"
    cp "$f" "$corpus/check/seed-$n.rpl"
done
for policy in marketplace fashion electronics risk; do
    for case in "$root/examples/$policy"/*.json; do
        n=$((n + 1))
        { cat "$root/policies/$policy.rpl"; printf '\0'; cat "$case"; } > "$corpus/judge/seed-$n"
        cp "$case" "$corpus/judge/seed-$n.json"
    done
done
for case in $(find "$root/tests" -name '*.json' | sort); do
    n=$((n + 1))
    cp "$case" "$corpus/judge/seed-$n.json"
done
echo "seeded $n inputs under $corpus"
