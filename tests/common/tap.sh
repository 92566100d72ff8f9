# SPDX-License-Identifier: GPL-2.0
# TAP for the shell tests (bash): tests/cli/*.sh (through tests/cli/tap.inc),
# tests/examples.sh and tests/stress/loadunload.sh. Source it, then:
#
#   tap_plan N             print the plan first (else done_testing prints it)
#   tap_result RC DESC [DIAG]
#                          "ok N - DESC" if RC is 0, else "not ok N - DESC"
#                          and DIAG, every line of it as a "# " comment
#   run CMD...             run CMD, keep $out (stdout), $err (stderr), $rc
#   is GOT WANT DESC       ok if GOT = WANT
#   like GOT REGEX DESC    ok if GOT matches the extended REGEX
#   ok_if DESC CMD...      ok if CMD succeeds; its output, kept off the TAP
#                          stream, is the diagnostic of a failure
#   tap_fold TAG           fold the TAP stream on stdin into this one, each
#                          description prefixed with TAG
#   tap_diag MSG           a "# MSG" comment
#   tap_skip_all REASON    skip the whole script ("1..0 # SKIP REASON", exit 0)
#   tap_bail MSG           "Bail out! MSG", exit 1
#   done_testing           the plan if not printed yet; status 0 if all passed

tap_n=0
tap_failed=0
tap_planned=0
tap_tmp=$(mktemp -d)
trap 'rm -rf "$tap_tmp"' EXIT

tap_plan() {
	echo "1..$1"
	tap_planned=1
}

tap_diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

tap_result() {
	tap_n=$((tap_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $tap_n - $2"
	else
		tap_failed=$((tap_failed + 1))
		echo "not ok $tap_n - $2"
		[ -z "${3:-}" ] || tap_diag "$3"
	fi
}

tap_skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

tap_bail() {
	echo "Bail out! $*"
	exit 1
}

run() {
	rc=0
	out=$("$@" 2>"$tap_tmp/err") || rc=$?
	err=$(cat "$tap_tmp/err")
}

is() {
	[ "$1" = "$2" ]
	tap_result $? "$3" "got '$1', want '$2'"
}

like() {
	[[ $1 =~ $2 ]]
	tap_result $? "$3" "got '$1', want /$2/"
}

ok_if() {
	local desc=$1
	shift
	"$@" >"$tap_tmp/ok_if" 2>&1
	tap_result $? "$desc" "failed: $*
$(tail -n 30 "$tap_tmp/ok_if")"
}

tap_fold() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok "*) tap_result 0 "$1: ${line#ok * - }" ;;
		"not ok "*) tap_result 1 "$1: ${line#not ok * - }" ;;
		1..*) ;;
		*) tap_diag "$line" ;;
		esac
	done
}

done_testing() {
	[ "$tap_planned" = 1 ] || echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}
