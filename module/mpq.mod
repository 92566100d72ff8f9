/work/main/module/main.o
/work/main/module/queue.o
