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
#include <linux/rcupdate.h>
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

/*
 * An entry lives while it has references or charges: a message holds no
 * reference on its putter, only its charge, so that a put and a get touch
 * one atomic of the entry each, not three. Whoever takes either count to
 * zero (mpq_user_put(), with refcount_dec_and_lock(), or
 * mpq_user_uncharge()) then looks at both under mpq_users_lock, and the
 * first to see both at zero there unhashes the entry and frees it after a
 * grace period: an uncharger holds no reference, only rcu_read_lock(),
 * from its atomic to its look under the lock, and finds the entry
 * unhashed if another got there first.
 * A charge is only ever taken by a holder of a reference (a queue, a file),
 * so @bytes never goes from zero up on an entry with none.
 */
static void mpq_user_free_locked(struct mpq_user *u)
	__releases(&mpq_users_lock)
{
	if (refcount_read(&u->ref) || atomic_long_read(&u->bytes) ||
	    hlist_unhashed(&u->node)) {
		spin_unlock(&mpq_users_lock);
		return;
	}
	hash_del(&u->node);
	spin_unlock(&mpq_users_lock);
	kfree_rcu(u, rcu);
}

/* @uid's entry with a reference, or NULL if it holds nothing. */
struct mpq_user *mpq_user_find(kuid_t uid)
{
	struct mpq_user *u;

	spin_lock(&mpq_users_lock);
	u = __mpq_user_find(uid);
	/* One kept only by its charges has no reference left: give it one. */
	if (u && !refcount_inc_not_zero(&u->ref))
		refcount_set(&u->ref, 1);
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
		if (!refcount_inc_not_zero(&u->ref))
			refcount_set(&u->ref, 1);
	} else {
		hash_add(mpq_users, &new->node, __kuid_val(uid));
		swap(u, new);
	}
	spin_unlock(&mpq_users_lock);
	kfree(new);
	return u;
}

/* The entry goes with its last reference, unless charges keep it. */
void mpq_user_put(struct mpq_user *u)
{
	/* __cond_lock() tells sparse the lock is held only if this is true. */
	if (__cond_lock(&mpq_users_lock,
			refcount_dec_and_lock(&u->ref, &mpq_users_lock)))
		mpq_user_free_locked(u);
}

/*
 * Charge @bytes to @u, of which the caller holds a reference; past
 * mpq_bytes_per_user, and if @limited, undo and fail. Concurrent charges
 * near the limit may both fail where one alone would fit: the limit is
 * never exceeded, which is what it is for. The undo needs no look for the
 * last charge: our reference keeps the entry.
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

/*
 * Give back @bytes; without a reference on @u, the last charge may take
 * the entry with it, so the caller must not touch @u afterwards.
 */
void mpq_user_uncharge(struct mpq_user *u, size_t bytes)
{
	rcu_read_lock();
	/* Fully ordered: pairs with refcount_dec_and_lock() in put. */
	if (atomic_long_sub_and_test(bytes, &u->bytes)) {
		spin_lock(&mpq_users_lock);
		mpq_user_free_locked(u);
	}
	rcu_read_unlock();
}
