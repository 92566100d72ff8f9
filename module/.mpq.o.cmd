cmd_/work/main/module/mpq.o := ld -m elf_x86_64 -z noexecstack --no-warn-rwx-segments   -r -o /work/main/module/mpq.o @/work/main/module/mpq.mod 
