#include <linux/module.h>
#define INCLUDE_VERMAGIC
#include <linux/build-salt.h>
#include <linux/elfnote-lto.h>
#include <linux/export-internal.h>
#include <linux/vermagic.h>
#include <linux/compiler.h>

BUILD_SALT;
BUILD_LTO_INFO;

MODULE_INFO(vermagic, VERMAGIC_STRING);
MODULE_INFO(name, KBUILD_MODNAME);

__visible struct module __this_module
__section(".gnu.linkonce.this_module") = {
	.name = KBUILD_MODNAME,
	.init = init_module,
#ifdef CONFIG_MODULE_UNLOAD
	.exit = cleanup_module,
#endif
	.arch = MODULE_ARCH_INIT,
};

#ifdef CONFIG_RETPOLINE
MODULE_INFO(retpoline, "Y");
#endif


static const struct modversion_info ____versions[]
__used __section("__versions") = {
	{ 0xe3ec2f2b, "alloc_chrdev_region" },
	{ 0x88db9f48, "__check_object_size" },
	{ 0xa7dbde55, "__class_create" },
	{ 0x20978fb9, "idr_find" },
	{ 0x91c14d8d, "param_ops_uint" },
	{ 0x13c49cc2, "_copy_from_user" },
	{ 0xb38a2df9, "dev_set_name" },
	{ 0x921ab725, "kill_fasync" },
	{ 0xfd11e3f7, "class_destroy" },
	{ 0x4d03a9f9, "device_initialize" },
	{ 0x37a0cba, "kfree" },
	{ 0xe2964344, "__wake_up" },
	{ 0xbb709d16, "__module_get" },
	{ 0xba8fbd64, "_raw_spin_lock" },
	{ 0xcbd4898c, "fortify_panic" },
	{ 0xbdfb6dbb, "__fentry__" },
	{ 0xe783e261, "sysfs_emit" },
	{ 0x70e470bf, "wake_up_process" },
	{ 0x65487097, "__x86_indirect_thunk_rax" },
	{ 0x6d334118, "__get_user_8" },
	{ 0x8c7394d7, "anon_inode_getfd" },
	{ 0xa19b956, "__stack_chk_fail" },
	{ 0x296695f, "refcount_warn_saturate" },
	{ 0xab30ec32, "put_device" },
	{ 0xa916b694, "strnlen" },
	{ 0x115c636d, "param_get_ullong" },
	{ 0xb2fd5ceb, "__put_user_4" },
	{ 0xc6cbbc89, "capable" },
	{ 0xa59b97f5, "module_put" },
	{ 0x599fb41c, "kvmalloc_node" },
	{ 0x3ef022ec, "compat_ptr_ioctl" },
	{ 0x478823a1, "cdev_add" },
	{ 0x7665a95b, "idr_remove" },
	{ 0x68f31cbd, "__list_add_valid" },
	{ 0x46be88df, "device_add" },
	{ 0x8df92f66, "memchr_inv" },
	{ 0xb8f11603, "idr_alloc" },
	{ 0xa07a37f0, "memchr" },
	{ 0x4dfa8d4b, "mutex_lock" },
	{ 0x6fb89e93, "fasync_helper" },
	{ 0xe1537255, "__list_del_entry_valid" },
	{ 0x68fb37ae, "current_task" },
	{ 0x11089ac7, "_ctype" },
	{ 0xd156a8df, "device_del" },
	{ 0x8e17b3ae, "idr_destroy" },
	{ 0x5c3c7387, "kstrtoull" },
	{ 0xb8e7ce2c, "__put_user_8" },
	{ 0x5b8239ca, "__x86_return_thunk" },
	{ 0x6b10bee1, "_copy_to_user" },
	{ 0xd9a5ea54, "__init_waitqueue_head" },
	{ 0xfb384d37, "kasprintf" },
	{ 0xe2d5255a, "strcmp" },
	{ 0x241276ff, "nonseekable_open" },
	{ 0x3c3ff9fd, "sprintf" },
	{ 0xff4d0eba, "device_create_with_groups" },
	{ 0x9468ea70, "schedule_hrtimeout_range_clock" },
	{ 0x6091b333, "unregister_chrdev_region" },
	{ 0x3213f038, "mutex_unlock" },
	{ 0x6729d3df, "__get_user_4" },
	{ 0x151ff97c, "device_destroy" },
	{ 0xde3c0c1c, "stream_open" },
	{ 0x606e9d01, "kmalloc_trace" },
	{ 0x754d539c, "strlen" },
	{ 0x7aa1756e, "kvfree" },
	{ 0x349cba85, "strchr" },
	{ 0xb5b54b34, "_raw_spin_unlock" },
	{ 0xc9f4b187, "cdev_init" },
	{ 0x7a7caba8, "kmalloc_caches" },
	{ 0x7fef1dbe, "cdev_del" },
	{ 0x9060323f, "module_layout" },
};

MODULE_INFO(depends, "");

