cmd_/work/main/module/mpq.mod := printf '%s\n'   main.o queue.o | awk '!x[$$0]++ { print("/work/main/module/"$$0) }' > /work/main/module/mpq.mod
