cmd_/work/main/modules.order := {   cat /work/main/module/modules.order; :; } > /work/main/modules.order
