#!/usr/bin/env bash
# Instructions per operation of the CodecBenchmarks rows, counted by valgrind (load-independent), checked
# against the ceilings in Thresholds/CodecBenchmarks.instructions.json.
#
#   cd Benchmarks && swift build -c release --product CodecBenchmarks && scripts/instruction-counts.sh [regex]
#
# valgrind cannot run the benchmark harness, so a small driver (InstructionCounts/main.swift with the rows of
# Benchmarks/CodecBenchmarks/CodecOperations.swift) is linked against the release objects that build left.
# Each row runs twice under callgrind, with ITERATIONS operations and with none; the difference divided by
# ITERATIONS is the cost of one operation (setup, startup and exit cancel out). Exit status 1 when a row
# exceeds its ceiling.
set -euo pipefail
cd "$(dirname "$0")/.."
release=.build/release
driver=$release/InstructionCounts
thresholds=Thresholds/CodecBenchmarks.instructions.json
iterations=${ITERATIONS:-2000}
filter=${1:-.}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
[[ -d $release/Codecs.build ]] || { echo "build first: swift build -c release --product CodecBenchmarks" >&2; exit 2; }

swiftc -O -module-name InstructionCounts -I "$release/Modules" -I /usr/include/libxml2 \
    -Xcc -fmodule-map-file=../Sources/CLibXML2/module.modulemap \
    InstructionCounts/main.swift Benchmarks/CodecBenchmarks/CodecOperations.swift \
    Benchmarks/CodecBenchmarks/Fixtures.swift \
    "$release"/Codecs.build/*.o "$release"/LwM2MModel.build/*.o "$release"/LwM2MRegistryResources.build/*.o \
    -lxml2 -o "$driver"

count() { # name iterations -> total instructions
    local out
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$driver" "$1" "$2" >/dev/null 2>&1
    awk '/^summary:/ { print $2 }' "$out"
    rm -f "$out"
}

status=0
printf '%-34s %12s %12s\n' benchmark instructions ceiling
while IFS=$'\t' read -r name ceiling; do
    [[ $name =~ $filter ]] || continue
    base=$(count "$name" 0)
    total=$(count "$name" "$iterations")
    per=$(( (total - base) / iterations ))
    mark=""
    if (( per > ceiling )); then mark="  EXCEEDED"; status=1; fi
    printf '%-34s %12d %12d%s\n' "$name" "$per" "$ceiling" "$mark"
done < <(jq -r 'to_entries[] | "\(.key)\t\(.value)"' "$thresholds")
exit $status
