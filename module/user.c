// SPDX-License-Identifier: GPL-2.0
/*
 * mpq per-user accounting. Every queue is charged to its owner, the user
 * who created it, for the kernel memory it pins (see struct mpq_user), the
 * way ipc/mqueue.c charges a queue to its creator's RLIMIT_MSGQUEUE. The
 * charge is taken when the memory is allocated, not reserved from the
 * queue's limits: a default queue (64 MiB, no count limit) would otherwise
 * reserve far more than it ever holds, and per-message headers that the
 * limits do not count (a 1-byte message costs 64) are charged as well.
 */

#include <linux/hashtable.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "mpq.h"

/* Written by the module parameter bytes_per_user (main.c). */
unsigned long long mpq_bytes_per_user = 1ULL << 30;

static DEFINE_SPINLOCK(mpq_users_lock);
static DEFINE_HASHTABLE(mpq_users, 6);

static struct mpq_user *__mpq_user_find(kuid_t uid)
{
	struct mpq_user *u;

	lockdep_assert_held(&mpq_users_lock);
	hash_for_each_possible(mpq_users, u, node, __kuid_val(uid))
		if (uid_eq(u->uid, uid))
			return u;
	return NULL;
}

/* @uid's entry with a reference, or NULL if that user owns no queue. */
struct mpq_user *mpq_user_find(kuid_t uid)
{
	struct mpq_user *u;

	spin_lock(&mpq_users_lock);
	u = __mpq_user_find(uid);
	if (u)
		refcount_inc(&u->ref);
	spin_unlock(&mpq_users_lock);
	return u;
}

/* @uid's entry with a reference, made if need be; NULL without memory. */
struct mpq_user *mpq_user_get(kuid_t uid)
{
	struct mpq_user *u, *new;

	u = mpq_user_find(uid);
	if (u)
		return u;
	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return NULL;
	new->uid = uid;
	refcount_set(&new->ref, 1);
	spin_lock(&mpq_users_lock);
	u = __mpq_user_find(uid);
	if (u) {
		refcount_inc(&u->ref);
	} else {
		hash_add(mpq_users, &new->node, __kuid_val(uid));
		swap(u, new);
	}
	spin_unlock(&mpq_users_lock);
	kfree(new);
	return u;
}

void mpq_user_put(struct mpq_user *u)
{
	/* __cond_lock() tells sparse the lock is held only if this is true. */
	if (__cond_lock(&mpq_users_lock,
			refcount_dec_and_lock(&u->ref, &mpq_users_lock))) {
		hash_del(&u->node);
		spin_unlock(&mpq_users_lock);
		kfree(u);
	}
}

/*
 * Charge @bytes to @u; past mpq_bytes_per_user, and if @limited, undo and
 * fail. Concurrent charges near the limit may both fail where one alone
 * would fit: the limit is never exceeded, which is what it is for.
 */
int mpq_user_charge(struct mpq_user *u, size_t bytes, bool limited)
{
	unsigned long total = atomic_long_add_return(bytes, &u->bytes);

	if (limited && total > READ_ONCE(mpq_bytes_per_user)) {
		atomic_long_sub(bytes, &u->bytes);
		return -ENOSPC;
	}
	return 0;
}

void mpq_user_uncharge(struct mpq_user *u, size_t bytes)
{
	atomic_long_sub(bytes, &u->bytes);
}
