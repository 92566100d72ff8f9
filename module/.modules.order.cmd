cmd_/work/main/module/modules.order := {   echo /work/main/module/mpq.ko; :; } > /work/main/module/modules.order
