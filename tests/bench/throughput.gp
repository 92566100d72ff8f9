# SPDX-License-Identifier: GPL-2.0
#
# Messages/s by message size, one line per mechanism: the 1->1 plot of
# Documentation/dev-tools/benchmarks.rst. tests/bench/mpq-bench-run calls it as
#   gnuplot -e "data='FILE'; out='PNG'; ncols=N; ttl='TITLE'" throughput.gp
# where FILE (from report.awk -v plot=1) holds: size, size label, then one
# column of messages/s per mechanism, a header line naming them.

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
	set terminal pngcairo size 1100,600 enhanced font "sans,10"
} else {
	set terminal png size 1100,600
}
set output out
set title ttl
set logscale xy
set xlabel "message size"
set ylabel "messages/s"
set format y "%.0s%c"
set grid xtics ytics mytics
set key outside right top
set datafile missing "?"
# Dark enough to read on white, one per mechanism.
set linetype 1 lc rgb "#7b1fa2"
set linetype 2 lc rgb "#00897b"
set linetype 3 lc rgb "#1565c0"
set linetype 4 lc rgb "#ef6c00"
set linetype 5 lc rgb "#6d4c41"
set linetype 6 lc rgb "#424242"
set linetype 7 lc rgb "#c62828"
set linetype 8 lc rgb "#000000"
set linetype 9 lc rgb "#9e9d24"
set linetype 10 lc rgb "#ad1457"
set linetype cycle 10
set offsets graph 0.03, graph 0.03, 0, 0
plot for [i=3:ncols] data using 1:i:xtic(2) with linespoints lw 2 pt 7 ps 1 \
	title columnheader(i) noenhanced
