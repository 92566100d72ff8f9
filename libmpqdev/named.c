// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libmpqdev: named queues, /dev/mpq/NAME, in the style of mq_open(3).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Attempts of mpq_open(O_CREAT) when the queue is removed under it. */
#define OPEN_RETRIES	8

/*
 * Copy a queue name, with or without mq_open()'s leading '/', into the
 * kernel's fixed-size field. The kernel checks names on creation too, but
 * opening /dev/mpq/NAME must never let "../x" or "control" through.
 */
static int name_copy(char dst[MPQ_NAME_SIZE], const char *name)
{
	size_t len, i;

	if (!name)
		return -EINVAL;
	if (name[0] == '/')
		name++;
	len = strnlen(name, MPQ_NAME_MAX + 1);
	if (len == 0 || len > MPQ_NAME_MAX || name[0] == '.' ||
	    !strcmp(name, "control"))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return -EINVAL;
	}
	memset(dst, 0, MPQ_NAME_SIZE);
	memcpy(dst, name, len);
	return 0;
}

static int create_named(const char *name, mode_t mode,
			const struct mpq_attr *attr)
{
	struct mpq_create c = { 0 };
	int ret;

	if (mode & ~(mode_t)0777)
		return -EINVAL;
	c.mode = (__u32)mode;
	ret = mpqdev_create_attr(&c, attr);
	if (ret)
		return ret;
	memcpy(c.name, name, MPQ_NAME_SIZE);
	return mpqdev_control_ioctl(MPQ_IOC_CREATE_NAMED, &c);
}

static int remove_named(const char *name)
{
	struct mpq_name n;

	memcpy(n.name, name, MPQ_NAME_SIZE);
	return mpqdev_control_ioctl(MPQ_IOC_REMOVE, &n);
}

/*
 * mpq_create() and mpq_open() of 1.0 and 1.1 took the first three fields
 * of struct mpq_attr only: binaries built then keep calling these.
 */
struct mpq_attr_1_0 {
	long maxsize;
	size_t msgsize_max;
	size_t maxbytes;
};

static const struct mpq_attr *attr_from_1_0(struct mpq_attr *a,
					    const struct mpq_attr_1_0 *old)
{
	if (!old)
		return NULL;
	memset(a, 0, sizeof(*a));
	a->maxsize = old->maxsize;
	a->msgsize_max = old->msgsize_max;
	a->maxbytes = old->maxbytes;
	return a;
}

int mpq_create_1_2(const char *name, mode_t mode,
		   const struct mpq_attr *attr);
__attribute__((symver("mpq_create@@LIBMPQDEV_1.2")))
int mpq_create_1_2(const char *name, mode_t mode, const struct mpq_attr *attr)
{
	char n[MPQ_NAME_SIZE];
	int ret;

	ret = name_copy(n, name);
	if (ret)
		return ret;
	return create_named(n, mode, attr);
}

int mpq_create_1_0(const char *name, mode_t mode,
		   const struct mpq_attr_1_0 *attr);
__attribute__((symver("mpq_create@LIBMPQDEV_1.0")))
int mpq_create_1_0(const char *name, mode_t mode,
		   const struct mpq_attr_1_0 *attr)
{
	struct mpq_attr a;

	return mpq_create_1_2(name, mode, attr_from_1_0(&a, attr));
}

int mpq_unlink(const char *name)
{
	char n[MPQ_NAME_SIZE];
	int ret;

	ret = name_copy(n, name);
	if (ret)
		return ret;
	return remove_named(n);
}

ssize_t mpq_list(char *buf, size_t size)
{
	struct mpq_list l = {
		.buf = (uintptr_t)buf,
		.size = size,
	};

	if (!buf && size)
		return -EINVAL;
	return mpqdev_control_ioctl(MPQ_IOC_LIST, &l);
}

int mpq_usage(struct mpq_usage *u)
{
	if (!u)
		return -EINVAL;
	memset(u, 0, sizeof(*u));
	return mpqdev_control_ioctl(MPQ_IOC_USAGE, u);
}

/*
 * O_CREAT creates the queue first, then opens its node. If this call
 * created it and the open fails (say the mode denies the creator the
 * access asked for), the queue is removed again so that a failed
 * mpq_open() leaves nothing behind. If someone removes the queue between
 * our EEXIST and our open, create it again, as mq_open() would have.
 */
mpq_t *mpq_open_1_2(const char *name, int oflag, mode_t mode,
		    const struct mpq_attr *attr);
__attribute__((symver("mpq_open@@LIBMPQDEV_1.2")))
mpq_t *mpq_open_1_2(const char *name, int oflag, mode_t mode,
		    const struct mpq_attr *attr)
{
	const int known = O_ACCMODE | O_CREAT | O_EXCL | O_NONBLOCK | O_CLOEXEC;
	const int oflags = O_ACCMODE | O_NONBLOCK | O_CLOEXEC;
	char n[MPQ_NAME_SIZE], path[sizeof(MPQ_DEV_DIR) + MPQ_NAME_SIZE];
	int ret, fd = -1, tries;
	bool created = false;
	mpq_t *q;

	ret = name_copy(n, name);
	if (ret)
		goto fail;
	ret = -EINVAL;
	if ((oflag & ~known) || (oflag & O_ACCMODE) == O_ACCMODE)
		goto fail;
	snprintf(path, sizeof(path), "%s/%s", MPQ_DEV_DIR, n);

	for (tries = 0; tries < OPEN_RETRIES; tries++) {
		if (oflag & O_CREAT) {
			ret = create_named(n, mode, attr);
			if (ret == 0)
				created = true;
			else if (ret != -EEXIST || (oflag & O_EXCL))
				goto fail;
		}
		fd = open(path, (oflag & oflags) | O_NOCTTY);
		/* ENXIO: the node outlived its queue for a moment. */
		if (fd >= 0 || (errno != ENOENT && errno != ENXIO) ||
		    created || !(oflag & O_CREAT))
			break;
	}
	if (fd < 0) {
		ret = -errno;
		goto fail_remove;
	}
	q = mpqdev_handle_new(fd, true);
	if (q)
		return q;
	ret = -ENOMEM;
	close(fd);
fail_remove:
	if (created)
		remove_named(n);
fail:
	errno = -ret;
	return NULL;
}

int mpqdev_name_check(const char *name)
{
	char buf[MPQ_NAME_SIZE];

	return name_copy(buf, name);
}

mpq_t *mpq_open_1_0(const char *name, int oflag, mode_t mode,
		    const struct mpq_attr_1_0 *attr);
__attribute__((symver("mpq_open@LIBMPQDEV_1.0")))
mpq_t *mpq_open_1_0(const char *name, int oflag, mode_t mode,
		    const struct mpq_attr_1_0 *attr)
{
	struct mpq_attr a;

	return mpq_open_1_2(name, oflag, mode, attr_from_1_0(&a, attr));
}
