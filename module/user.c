// SPDX-License-Identifier: GPL-2.0
/*
 * mpq per-user accounting (see struct mpq_user), in the spirit of
 * RLIMIT_MSGQUEUE. The charge is taken when memory is allocated, not
 * reserved from a queue's limits as ipc/mqueue.c does: a default queue
 * (64 MiB, no count limit) would reserve far more than it ever holds, and
 * per-message headers that the limits do not count (a 1-byte message
 * costs 64) are charged as well. Messages are charged to their putter, as
 * memory cgroups charge them, so that whoever may write into a queue
 * spends their own budget, never its owner's.
 */

#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/user_namespace.h>

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

/*
 * Whom the caller's charges and named queues count against: their fsuid;
 * but inside user namespaces, the outermost owner of one that is not
 * root. An unprivileged user who makes a user namespace (and so has new
 * uids) does not multiply their budget by it; the uid ranges that root
 * gives to containers stay apart, as do the users of the host.
 */
kuid_t mpq_user_current(void)
{
	const struct user_namespace *ns;
	kuid_t uid = current_fsuid();

	for (ns = current_user_ns(); ns != &init_user_ns; ns = ns->parent)
		if (!uid_eq(ns->owner, GLOBAL_ROOT_UID))
			uid = ns->owner;
	return uid;
}

/* @uid's entry with a reference, or NULL if it holds nothing. */
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

/* Drop @n references at once; the last one as mpq_user_put() does. */
void mpq_user_put_many(struct mpq_user *u, unsigned int n)
{
	/* We hold @n, so the first n - 1 never take the count to 0. */
	WARN_ON_ONCE(n > 1 && refcount_sub_and_test(n - 1, &u->ref));
	mpq_user_put(u);
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
