#!/usr/bin/env bash
# tools/toolchain/compare.sh [REV]: does a change to tools/toolchain.sh or tools/toolchain/ change what a
# build writes? Runs the toolchain.sh of REV (default HEAD) and the one in the working tree as dry runs in
# scratch caches: go, the network and existing installations stubbed out, build steps recorded in the logs
# instead of run, next to a copy of the source tree as go gets it. Then diffs the two caches (sources,
# steps, stamps without their dates, file modes). No difference: existing caches stay valid and would
# build the same thing. Never touches the real cache; needs git, bash and a `go` on PATH (never run).
set -euo pipefail
rev="${1:-HEAD}"
top="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# dry_run TOOLS CACHE: toolchain.sh from the directory TOOLS (entry point cut off) with stubs, into CACHE.
dry_run() {
	sed '/^# -* entry point$/,$d' "$1/toolchain.sh" >"$1/toolchain.lib.sh"
	mkdir -p "$tmp/home"
	# shellcheck disable=SC2016 # expanded by the inner bash
	env -i PATH="$PATH" HOME="$tmp/home" PERMACOOP_TOOLCHAIN_CACHE="$2" PERMACOOP_TOOLCHAIN_SOURCE=go \
		bash -euo pipefail -c '
		source "$1/toolchain.lib.sh"
		_ptc_find_existing_pulumi() { return 1; }
		_ptc_replaces() { printf -- "-replace=example.com/stub=example.com/stub@v0.0.0\n"; }
		_ptc_run() {
			local log="$1" a prev="" out=""
			shift
			# the source tree as written, before go touches it
			if [[ "$1 ${2:-}" == "go -C" && ! -e "$log.src" ]]; then cp -a "$3" "$log.src"; fi
			printf "\$ %s\n" "${*//"$PTC_CACHE"/<cache>}" >>"$log"
			for a; do
				case "$prev" in
				-o) out="$a" ;;
				--out) printf "{\"stub\":\"tfgen\"}\n" | tee "$a/schema.json" >"$a/bridge-metadata.json" ;;
				esac
				prev="$a"
			done
			if [[ -n "$out" ]]; then printf "stub\n" >"$out" && chmod +x "$out"; fi
		}
		_ptc_ensure
	' _ "$1" 2>"$2.stderr" || return 1
	find "$2" -name .stamp -exec sed -i 's/ date=[^ ]*//' {} +
}

mkdir -p "$tmp/old/tools" "$tmp/new/tools"
git -C "$top" archive "$rev" tools/toolchain.sh tools/toolchain | tar -x -C "$tmp/old"
cp -a "$top/tools/toolchain.sh" "$top/tools/toolchain" "$tmp/new/tools/"
dry_run "$tmp/old/tools" "$tmp/cache-old" || { cat "$tmp/cache-old.stderr" >&2 && exit 1; }
dry_run "$tmp/new/tools" "$tmp/cache-new" || { cat "$tmp/cache-new.stderr" >&2 && exit 1; }
modes() { (cd "$1" && find . -printf '%M %P\n' | sort -k2); }
rc=0
diff -r "$tmp/cache-old" "$tmp/cache-new" || rc=1
diff <(modes "$tmp/cache-old") <(modes "$tmp/cache-new") || rc=1
n="$(find "$tmp/cache-new" -type f | wc -l)"
if ((rc == 0)); then
	echo "compare: $rev and the working tree write the same $n files (contents, modes, stamps, build steps)"
else
	echo "compare: $rev and the working tree differ (above)" >&2
fi
exit "$rc"
