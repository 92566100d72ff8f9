# SPDX-License-Identifier: GPL-2.0
#
# Documentation/dev-tools/benchmarks.rst from the CSV of tests/bench/mpq-bench
# (POSIX awk), reStructuredText beside its plot benchmarks.png; tables are
# list-tables, so that no column width depends on how awk counts UTF-8.
# Run by tests/bench/mpq-bench-run, which passes facts about the host:
#   awk -f report.awk -v host_cpu=... -v load_before=... -v load_after=...
#       -v qemu=... -v vm_smp=... -v vm_mem=... -v png=... -v csvname=... CSV
# With -v plot=1 it prints instead the data for tests/bench/throughput.gp:
# messages/s by size, one column per mechanism, topology 1->1.

BEGIN {
	FS = ","
	nmech = split("mpq mpq-batch mpq-uring mpq-td mpq-redeliver mqueue seqpacket sysv pipe mpq-ioctl", MECH, " ")
	ntopo = split("1-1 4-4 8-1 1-8", TOPO, " ")
	NAME["mpq"] = "mpq, write/read"
	NAME["mpq-batch"] = "mpq, batched"
	NAME["mpq-uring"] = "mpq, io_uring batches"
	NAME["mpq-td"] = "mpq, read + task done"
	NAME["mpq-redeliver"] = "mpq redelivery queue, read + task done"
	NAME["mqueue"] = "POSIX mqueue"
	NAME["seqpacket"] = "AF_UNIX SOCK_SEQPACKET"
	NAME["sysv"] = "SysV msgsnd/msgrcv"
	NAME["pipe"] = "pipe (byte stream)"
	NAME["mpq-ioctl"] = "mpq, MPQ_IOC_PUT/GET"
	ARROW["1-1"] = "1→1"
	ARROW["4-4"] = "4→4"
	ARROW["8-1"] = "8→1"
	ARROW["1-8"] = "1→8"
}

/^# mpq-bench / {
	n = split($0, kv, " ")
	for (i = 3; i <= n; i++) {
		eq = index(kv[i], "=")
		if (eq)
			META[substr(kv[i], 1, eq - 1)] = substr(kv[i], eq + 1)
	}
	next
}
/^#/ { next }
$1 == "test" {
	for (i = 1; i <= NF; i++)
		COL[$i] = i
	next
}
{
	key = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4
	ROW[key] = $0
	if (($1 == "tput" || $1 == "cost" || $1 == "lat") && !(($3) in HAVE_SIZE)) {
		HAVE_SIZE[$3] = 1
		SIZES[++nsize] = $3
	}
	if ($1 == "tput")
		HAVE_TOPO[$4] = 1
	# How far apart the rounds of one cell were: the noise.
	if ($1 == "tput" && $COL["min_msgs_per_s"] > 0)
		SPREAD[++nspread] = $COL["max_msgs_per_s"] / $COL["min_msgs_per_s"]
	if ($1 == "mem" && !(($3) in HAVE_MSIZE)) {
		HAVE_MSIZE[$3] = 1
		MSIZES[++nmsize] = $3
	}
}

# The named column of a result, "" when missing or empty.
function get(test, mech, size, topo, col,    key, f) {
	key = test SUBSEP mech SUBSEP size SUBSEP topo
	if (!(key in ROW) || !(col in COL))
		return ""
	split(ROW[key], f, ",")
	return f[COL[col]]
}

function sizestr(b) {
	if (b >= 1024 && b % 1024 == 0)
		return (b / 1024) " KiB"
	return b " B"
}

# 1234567 -> 1,234,567
function grp(n,    s, r) {
	s = sprintf("%.0f", n)
	r = ""
	while (length(s) > 3) {
		r = "," substr(s, length(s) - 2) r
		s = substr(s, 1, length(s) - 3)
	}
	return s r
}

function num(v) {
	if (v == "")
		return "–"
	v += 0
	if (v >= 100)
		return grp(v)
	if (v >= 10)
		return sprintf("%.1f", v)
	return sprintf("%.2f", v)
}

function ratio(a, b) {
	if (a == "" || b == "" || b == 0)
		return "–"
	return sprintf("%.2f×", a / b)
}

# A rounded difference with its sign, never "-0".
function signed(d) {
	d = d < 0 ? -int(-d + 0.5) : int(d + 0.5)
	return (d > 0 ? "+" : "") d
}

# Median of SPREAD[1..nspread] (insertion sort: POSIX awk has no sort).
function spread_median(    i, j, v) {
	for (i = 2; i <= nspread; i++) {
		v = SPREAD[i]
		for (j = i - 1; j >= 1 && SPREAD[j] > v; j--)
			SPREAD[j + 1] = SPREAD[j]
		SPREAD[j + 1] = v
	}
	if (nspread % 2)
		return SPREAD[(nspread + 1) / 2]
	return (SPREAD[nspread / 2] + SPREAD[nspread / 2 + 1]) / 2
}

function yes(ok) {
	return ok ? "**met**" : "**not met**"
}

# A row of the targets' table, which starts with the first one.
function target(what, measured, ok,    lab) {
	if (!ntarget++) {
		lab[1] = "measured"
		lab[2] = ""
		header("target", 2, lab)
	}
	row(what)
	cell(measured)
	cell(yes(ok))
}

function tput_cell(mech, size, topo,    r, m) {
	r = get("tput", mech, size, topo, "msgs_per_s")
	if (r == "")
		return "failed"
	m = get("tput", "mqueue", size, topo, "msgs_per_s")
	return grp(r) " · " num(get("tput", mech, size, topo, "mb_per_s")) \
		" MB/s · " ratio(r, m)
}

function mechs_in(test,    i, n) {
	n = 0
	for (i = 1; i <= nmech; i++)
		if (has(test, MECH[i]))
			LIST[++n] = MECH[i]
	return n
}

function has(test, mech,    k, p) {
	for (k in ROW) {
		split(k, p, SUBSEP)
		if (p[1] == test && p[2] == mech)
			return 1
	}
	return 0
}

# A list-table with a header row: @first, then @labels[1..n].
function header(first, n, labels,    i) {
	print ".. list-table::"
	print "   :header-rows: 1"
	print ""
	row(first)
	for (i = 1; i <= n; i++)
		cell(labels[i])
}

# A table row, its first cell @first; cell() adds the others.
function row(first) {
	print "   * - " first
}

function cell(c) {
	print "     -" (c == "" ? "" : " " c)
}

# A section title, underlined (and overlined for the page title) with @c:
# at least as long as the title, however awk counts its UTF-8 characters.
function title(t, c,    u) {
	u = t
	gsub(/./, c, u)
	if (c == "=")
		print u
	print t
	print u
	print ""
}

function plot_data(    i, j, s, line, v) {
	n = mechs_in("tput")
	line = "size label"
	for (j = 1; j <= n; j++)
		line = line " \"" NAME[LIST[j]] "\""
	print line
	for (i = 1; i <= nsize; i++) {
		s = SIZES[i]
		line = s " \"" sizestr(s) "\""
		for (j = 1; j <= n; j++) {
			v = get("tput", LIST[j], s, "1-1", "msgs_per_s")
			line = line " " (v == "" ? "?" : v)
		}
		print line
	}
}

function targets(    s1, b1, mq, pp, ok, r, t, i, mp, mq1, mp1, herd, lp, lq, mem,
		 c1, cq, cr, ct, line, f) {
	title("Targets", "-")
	print "All measured in this run, 64-byte messages unless a size is named."
	print ""
	ntarget = 0
	s1 = get("tput", "mpq", 64, "1-1", "msgs_per_s")
	mq = get("tput", "mqueue", 64, "1-1", "msgs_per_s")
	b1 = get("tput", "mpq-batch", 64, "1-1", "msgs_per_s")
	pp = get("tput", "pipe", 64, "1-1", "msgs_per_s")
	if (s1 != "" && mq != "")
		target("single-message mpq, 1→1, ≥ 1.2× mqueue",
		       sprintf("%s msgs/s vs %s: %s", grp(s1), grp(mq), ratio(s1, mq)),
		       s1 + 0 >= 1.2 * mq)
	c1 = get("cost", "mpq", 64, "1-proc", "ns_per_msg")
	cq = get("cost", "mqueue", 64, "1-proc", "ns_per_msg")
	if (c1 != "" && cq != "")
		target("single-message mpq, CPU per put + get ≤ mqueue's / 1.2 (0.83×)",
		       sprintf("%s ns vs %s ns: %s", grp(c1), grp(cq),
			       ratio(c1, cq)),
		       c1 * 1.2 <= cq + 0)
	cr = get("cost", "mpq-redeliver", 64, "1-proc", "ns_per_msg")
	ct = get("cost", "mpq-td", 64, "1-proc", "ns_per_msg")
	if (cr != "" && ct != "")
		target("redelivery queue, CPU per put + get + task done ≤ 1.3× a plain queue's",
		       sprintf("%s ns vs %s ns: %s", grp(cr), grp(ct), ratio(cr, ct)),
		       cr + 0 <= 1.3 * ct)
	if (b1 != "" && mq != "" && pp != "")
		target("batched mpq, 1→1, ≥ 3× mqueue and ≥ pipe",
		       sprintf("%s msgs/s: %s mqueue, %s pipe", grp(b1),
			       ratio(b1, mq), ratio(b1, pp)),
		       b1 + 0 >= 3 * mq && b1 + 0 >= pp + 0)
	mp1 = get("tput", "mpq", 64, "1-1", "msgs_per_s")
	mq1 = mq
	for (i = 1; i <= 2; i++) {
		t = i == 1 ? "4-4" : "1-8"
		mp = get("tput", "mpq", 64, t, "msgs_per_s")
		r = get("tput", "mqueue", 64, t, "msgs_per_s")
		herd = get("tput", "mpq", 64, t, "vol_ctxsw_per_msg")
		if (mp == "" || r == "" || herd == "" || mp1 == "" || mq1 == "")
			continue
		target(ARROW[t] ": no thundering herd (voluntary context switches per message ≤ 2)",
		       sprintf("%.2f", herd), herd + 0 <= 2)
		target(ARROW[t] ": scaling from 1→1 no worse than mqueue",
		       sprintf("mpq %s, mqueue %s", ratio(mp, mp1), ratio(r, mq1)),
		       mp / mp1 >= r / mq1)
	}
	lp = get("lat", "mpq", 64, "1-1", "p99_us")
	lq = get("lat", "mqueue", 64, "1-1", "p99_us")
	if (lp != "" && lq != "")
		target("round-trip p99 ≤ mqueue",
		       sprintf("%s µs vs %s µs", num(lp), num(lq)), lp + 0 <= lq + 0)
	lp = get("lat", "mpq", 64, "1-1-samecpu", "p99_us")
	lq = get("lat", "mqueue", 64, "1-1-samecpu", "p99_us")
	if (lp != "" && lq != "")
		target("round-trip p99 ≤ mqueue, both on one CPU",
		       sprintf("%s µs vs %s µs", num(lp), num(lq)), lp + 0 <= lq + 0)
	# The memory target holds at every size measured, not just 64 B.
	for (i = 1; i <= nmsize; i++) {
		mem = get("mem", "mpq", MSIZES[i], "1-1", "kernel_b_per_msg")
		if (mem != "")
			target("kernel memory per queued " sizestr(MSIZES[i]) \
			       " message ≤ payload + 64 B",
			       sprintf("%s B (%s)", num(mem), signed(mem - MSIZES[i])),
			       mem + 0 <= MSIZES[i] + 64)
	}
	# mpq-scale's, from the same guest: label, measured, 1 if met.
	if (scale_targets != "")
		while ((getline line < scale_targets) > 0)
			if (split(line, f, "\t") == 3)
				target(f[1], f[2], f[3] == 1)
	if (!ntarget)
		print "None: this run did not measure what they compare."
	print ""
	print "Why the single-message rows are missed, with a profile: ``bench-profile.rst``."
	print ""
}

# The table of @test's mechanisms by message size (MSIZES for "mem",
# else SIZES), each cell size_cell(@kind, mechanism, size, @topo).
function by_size(test, kind, topo,    i, j, n, ns, lab, sz) {
	n = mechs_in(test)
	ns = test == "mem" ? nmsize : nsize
	for (i = 1; i <= ns; i++) {
		sz[i] = test == "mem" ? MSIZES[i] : SIZES[i]
		lab[i] = sizestr(sz[i])
	}
	header("mechanism", ns, lab)
	for (j = 1; j <= n; j++) {
		row(NAME[LIST[j]])
		for (i = 1; i <= ns; i++)
			cell(size_cell(kind, LIST[j], sz[i], topo))
	}
	print ""
}

function size_cell(kind, mech, size, topo,    v, w) {
	if (kind == "tput")
		return tput_cell(mech, size, topo)
	if (kind == "cost") {
		v = get("cost", mech, size, "1-proc", "ns_per_msg")
		w = get("cost", "mqueue", size, "1-proc", "ns_per_msg")
		return v == "" ? "–" : num(v / 1000) " · " ratio(v, w)
	}
	if (kind == "lat") {
		v = get("lat", mech, size, topo, "p50_us")
		w = get("lat", mech, size, topo, "p99_us")
		return v == "" ? "–" : num(v) " / " num(w)
	}
	if (kind == "mem") {
		v = get("mem", mech, size, "1-1", "kernel_b_per_msg")
		return v == "" ? "–" : num(v) " (" signed(v - size) ")"
	}
	v = get("tput", mech, size, "1-1", "capacity")	# kind "bound"
	return v == "" ? "–" : v
}

function tput_tables(    t) {
	if (!mechs_in("tput"))
		return
	title("Throughput", "-")
	print "Each cell: messages/s · MB/s (10⁶ bytes of payload) · ratio to mqueue in"
	print "the same cell. The median of " META["rounds"] " rounds; the CSV has each"
	print "cell's fastest and slowest round."
	print ""
	for (t = 1; t <= ntopo; t++) {
		if (!(TOPO[t] in HAVE_TOPO))
			continue
		title(ARROW[TOPO[t]] " (" TOPO_DESC(TOPO[t]) ")", "~")
		by_size("tput", "tput", TOPO[t])
		if (TOPO[t] == "1-1") {
			print ".. image:: " png
			print "   :alt: messages/s by message size, 1→1"
			print ""
		}
	}
}

function TOPO_DESC(t,    p) {
	split(t, p, "-")
	return p[1] " producer" (p[1] > 1 ? "s" : "") ", " p[2] " consumer" (p[2] > 1 ? "s" : "")
}

function ctx_table(    t, j, n, lab, k, v, w) {
	if (!mechs_in("tput"))
		return
	title("Context switches per message", "-")
	print "Voluntary + involuntary context switches of every producer and consumer"
	print "(from /proc/PID/status) over the messages delivered, 64-byte messages;"
	print "voluntary alone in parentheses. A put that woke every blocked getter"
	print "(a thundering herd) would show up as several voluntary switches per"
	print "message with 4 or 8 consumers."
	print ""
	n = mechs_in("tput")
	k = 0
	for (t = 1; t <= ntopo; t++)
		if (TOPO[t] in HAVE_TOPO)
			lab[++k] = ARROW[TOPO[t]]
	header("mechanism", k, lab)
	for (j = 1; j <= n; j++) {
		row(NAME[LIST[j]])
		for (t = 1; t <= ntopo; t++) {
			if (!(TOPO[t] in HAVE_TOPO))
				continue
			v = get("tput", LIST[j], 64, TOPO[t], "ctxsw_per_msg")
			w = get("tput", LIST[j], 64, TOPO[t], "vol_ctxsw_per_msg")
			cell(v == "" ? "–" : sprintf("%.3f (%.3f)", v, w))
		}
	}
	print ""
}

function cost_table() {
	if (!mechs_in("cost"))
		return
	title("CPU cost per message", "-")
	print "One process puts a burst of messages (64, or a batch of 64) and gets"
	print "them back, over and over: µs of CPU per message for a put plus a get,"
	print "with no wakeup and no second process, and the ratio to mqueue (lower"
	print "is cheaper)."
	print ""
	by_size("cost", "cost", "1-proc")
}

function lat_tables(    v, topo) {
	if (!mechs_in("lat"))
		return
	title("Round-trip latency", "-")
	print "One process sends a message, a second one receives it and sends it back"
	print "on a second queue of the same kind; p50 / p99 of the round trip in µs."
	print ""
	for (v = 1; v <= 2; v++) {
		topo = v == 1 ? "1-1" : "1-1-samecpu"
		if (v == 1)
			title("Any CPU (the scheduler places both processes)", "~")
		else
			title("Both processes pinned to CPU 0", "~")
		if (v == 1) {
			print "Each wakeup usually crosses to the other vCPU: besides the"
			print "mechanism, this measures the IPI and, under TCG on a shared"
			print "host, how soon the host runs the other vCPU's thread."
		} else {
			print "Every wakeup is a context switch on one vCPU: the mechanisms'"
			print "own cost."
		}
		print ""
		by_size("lat", "lat", topo)
	}
}

function mem_tables(    j, n, lab) {
	if (!mechs_in("mem"))
		return
	title("Kernel memory per queued message", "-")
	print "A child process in its own memory cgroup (cgroup v2, mounted by"
	print "mpq-bench if needed) fills one queue with N messages without any"
	print "consumer; N is 32 MiB / size, between 200 and 50,000. Reported: the rise"
	print "of the cgroup's ``kernel`` counter in memory.stat (every kernel allocation"
	print "charged to the cgroup; slab objects at their full object size) divided"
	print "by N, after forcing the cgroup's statistics to be flushed. Bytes per"
	print "message; in parentheses the overhead over the payload."
	print ""
	by_size("mem", "mem", "1-1")
	print "64-byte messages by every measure: ``slab`` of memory.stat (slab objects"
	print "only), memory.current (whole pages, with per-CPU charge batches) and"
	print "the system-wide Slab of /proc/meminfo (whole slab pages, includes"
	print "anything else the guest allocated meanwhile)."
	print ""
	lab[1] = "memcg kernel"
	lab[2] = "memcg slab"
	lab[3] = "memory.current"
	lab[4] = "global Slab"
	n = mechs_in("mem")
	header("mechanism", 4, lab)
	for (j = 1; j <= n; j++) {
		row(NAME[LIST[j]])
		cell(num(get("mem", LIST[j], 64, "1-1", "kernel_b_per_msg")))
		cell(num(get("mem", LIST[j], 64, "1-1", "slab_b_per_msg")))
		cell(num(get("mem", LIST[j], 64, "1-1", "current_b_per_msg")))
		cell(num(get("mem", LIST[j], 64, "1-1", "global_slab_b_per_msg")))
	}
	print ""
}

function bound_table() {
	if (!mechs_in("tput"))
		return
	title("Queue bound", "-")
	print "Every queue is set up to hold " META["bound"] " messages before a put"
	print "blocks, as closely as the mechanism allows; the count below is measured"
	print "by filling each queue without blocking:"
	print ""
	print "- mpq: ``maxsize`` = bound, ``maxbytes`` = bound × size."
	print "- mqueue: ``mq_maxmsg`` = bound (RLIMIT_MSGQUEUE raised, sysctls raised)."
	print "- SysV: ``msg_qbytes`` = bound × size (``kernel.msgmax`` raised); the kernel"
	print "  also caps the message count at msg_qbytes."
	print "- SOCK_SEQPACKET: bounded by the sender's SO_SNDBUF against the skbs'"
	print "  truesize; SO_SNDBUFFORCE is scaled until the socket holds the bound."
	print "- pipe: F_SETPIPE_SZ = bound × size, rounded up by the kernel to a power"
	print "  of two pages."
	print ""
	by_size("tput", "bound", "1-1")
}

function method() {
	title("Method", "-")
	print "- One boot of ``tests/rig/mpq-vm`` runs ``tests/bench/mpq-bench``: every mechanism,"
	print "  size and topology in the same guest, one after the other; then"
	print "  ``tests/bench/mpq-scale``, whose table of costs against the number of named"
	print "  queues and of blocked getters is ``bench-scale.rst`` beside this page."
	print "  mpq-bridge's throughput against redis-benchmark is ``bench-bridge.rst``"
	print "  (``tests/bench/bridge.sh``, run on its own). Where a single put and get"
	print "  spend their CPU, mpq against mqueue, is ``bench-profile.rst``"
	print "  (``tests/bench/mpq-profile``, run on its own)."
	print "- Mechanisms: mpq driven through the raw UAPI, one message per"
	print "  write(2)/read(2) (\"write/read\") or " META["batch"] " per"
	print "  MPQ_IOC_PUT_MANY/GET_MANY (\"batched\") or as many IORING_OP_WRITE/READ"
	print "  per io_uring_enter() (\"io_uring batches\"); a read and MPQ_IOC_TASK_DONE"
	print "  per message, as a JoinableQueue worker does, on a plain queue (\"read +"
	print "  task done\") and on an MPQ_CREATE_REDELIVER queue, where the task done"
	print "  acknowledges (\"redelivery queue\"); POSIX mq_send/mq_receive;"
	print "  AF_UNIX SOCK_SEQPACKET socketpair send/recv; SysV msgsnd/msgrcv; a pipe,"
	print "  where a \"message\" is " "size bytes of the stream (reads loop until"
	print "  they have that many) — one copy in and one out, no boundaries: the"
	print "  reference."
	print "- Throughput: producers and consumers are processes (fork) sharing one"
	print "  queue, blocking calls, no pacing. After a warm-up, each run counts the"
	print "  messages consumers received over its measured time. A cell (mechanism,"
	print "  size, topology) is " META["rounds"] " runs of " \
		sprintf("%.2g", META["duration"] / META["rounds"]) " s; the mechanisms of"
	print "  one size and topology take turns run by run, so a change of load on the"
	print "  host falls on all of them; the median run is reported."
	print "- Latency: " META["lat_duration"] " s of round trips per mechanism and"
	print "  size (in " META["rounds"] " turns), timed with CLOCK_MONOTONIC."
	print "- CPU cost: " sprintf("%.2g", META["duration"] / 3) " s per mechanism and size (in " \
		META["rounds"] " turns)."
	print "- Raw results: ``" csvname "`` (not committed); regenerate this page"
	print "  with ``make bench`` (``tests/bench/mpq-bench-run --report-only``"
	print "  rewrites it from that CSV without measuring again)."
	print ""
}

END {
	if (plot) {
		plot_data()
		exit
	}
	print ".. SPDX-License-Identifier: GPL-2.0"
	print ""
	print ".. Generated by tests/bench/mpq-bench-run (make bench); edits are overwritten."
	print ""
	title("mpq benchmarks", "=")
	print "Measured " META["date"] " by ``make bench``: guest kernel " META["kernel"] \
		", QEMU " qemu " **TCG** (no KVM), " vm_smp " vCPUs, " vm_mem " MiB, on a"
	print "host with " host_cpu "; host load average " load_before " before and " \
		load_after " after the run."
	print ""
	print "**These are not hardware numbers.** TCG translates every guest"
	print "instruction, so system calls, copies and wakeups cost far more than on"
	print "hardware and not in the same proportions; the host's other work adds"
	print "noise. Compare mechanisms with each other within this page only: that"
	print "is what the ratios do."
	if (nspread) {
		print ""
		printf("How noisy: in the median throughput cell, the fastest of its %s\n", META["rounds"])
		printf("rounds moved %.1f× as many messages as the slowest. A ratio much\n", spread_median())
		print "closer to 1 than that can flip between runs; differences of several"
		print "times, or in context switches and memory, do not."
	}
	print ""
	targets()
	tput_tables()
	ctx_table()
	cost_table()
	lat_tables()
	mem_tables()
	bound_table()
	method()
}
