// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * mpqdev._mpqdev: the C half of the mpqdev package, multiprocessing's
 * Queue, JoinableQueue and SimpleQueue on mpq.ko.
 *
 * Built on the stable ABI (Py_LIMITED_API 3.11): one abi3 module serves
 * every CPython from 3.11 on.
 *
 * The ioctls are called directly (include/uapi/linux/mpq.h), not through
 * libmpqdev: libmpqdev retries EINTR itself, and a Python binding must
 * come back to the interpreter after a signal so that its handler runs
 * (SIGINT raises KeyboardInterrupt inside a blocked get). Every blocking
 * ioctl runs with the GIL released and carries an absolute
 * CLOCK_MONOTONIC deadline, so retrying after a signal whose handler did
 * not raise waits only for the time left (PEP 475).
 *
 * Objects are pickled in the caller, with the reducers of
 * multiprocessing.reduction.ForkingPickler: a pickle.Pickler subclass
 * whose dispatch_table merges copyreg's table and ForkingPickler's extra
 * reducers is built once, and rebuilt only when either table changes
 * size (a reducer registered later).
 *
 * Closing: close() swaps the queue file under the descriptor number for
 * an inert eventfd (dup3), as libmpqdev does, so that another thread that
 * read the number just before can never reach an unrelated file that
 * reused it. The number is released when the object is freed.
 */
#define Py_LIMITED_API 0x030B0000
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/mpq.h>

#include "wait.h"

/* Where mpq.ko shows its cap on msgsize_max. */
#define MSGSIZE_LIMIT_PATH	"/sys/module/mpq/parameters/msgsize_limit"
#define MSGSIZE_LIMIT_DEFAULT	(16ULL << 20)

/* Messages up to this size are received without a heap allocation. */
#define GET_STACK		16384

/*
 * Batch entries per GET_MANY ioctl, the least capacity of each (more when
 * the last big message was bigger), and the most memory for all of them.
 */
#define GET_MANY_CHUNK		64
#define GET_MANY_SLOT		4096
#define GET_MANY_ARENA		(1U << 20)

/* Deadlines past this (about 292 years of uptime) are no deadline. */

/* Returned by the wait helpers when a Python exception is set. */
#define ERR_PY			(-100000)

typedef struct {
	PyObject_HEAD
	int fd;			/* -1: not initialised */
	int closed;
	uint64_t msgsize_max;
	size_t size_hint;	/* size of the last big message received */
	int redeliver;		/* created MPQ_CREATE_REDELIVER */
	long owner;		/* redelivery: pid whose own file fd is, or 0 */
} QueueObject;

/* Module globals: one interpreter, one module (single-phase init). */
static PyObject *Empty, *Full, *ShutDown;
static PyObject *BytesIO, *loads, *plain_dumps;
static PyObject *Pickler;		/* mpqdev's pickle.Pickler subclass */
static PyObject *copyreg_table, *extra_reducers;
static Py_ssize_t copyreg_size = -1, extra_size = -1;
static PyObject *str_dump, *str_getvalue, *str_dispatch_table;

/* --- waiting ------------------------------------------------------- */

/*
 * Python's (block, timeout) as ioctl flags and an absolute deadline.
 * Returns 0, or -1 with a Python exception set.
 */
static int wait_init(struct mpq_wait *w, int block, PyObject *timeout)
{
	double t;

	memset(w, 0, sizeof(*w));
	if (!block) {
		w->flags = MPQ_XFER_NONBLOCK;
		return 0;
	}
	if (!timeout || timeout == Py_None)
		return 0;
	t = PyFloat_AsDouble(timeout);
	if (t == -1.0 && PyErr_Occurred())
		return -1;
	if (isnan(t) || t < 0) {
		PyErr_SetString(PyExc_ValueError,
				"'timeout' must be a non-negative number");
		return -1;
	}
	errno = -mpq_wait_timeout(w, t);
	if (errno) {
		PyErr_SetFromErrno(PyExc_OSError);
		return -1;
	}
	return 0;
}

/*
 * One ioctl that may sleep, with the GIL released. After EINTR the
 * signal handlers run (PyErr_CheckSignals); if one raised, ERR_PY is
 * returned, else the call is retried: its deadline is absolute. Returns
 * the ioctl's result or a negative errno.
 */
static long q_ioctl_wait(QueueObject *self, unsigned long req, void *arg)
{
	long ret;
	int err, fd;

	for (;;) {
		fd = self->fd;
		Py_BEGIN_ALLOW_THREADS
		ret = ioctl(fd, req, arg);
		err = errno;
		Py_END_ALLOW_THREADS
		if (ret >= 0)
			return ret;
		if (self->closed)
			return -EBADF;
		if (err != EINTR)
			return -err;
		if (PyErr_CheckSignals())
			return ERR_PY;
	}
}

/* An ioctl that never sleeps, with the GIL held. */
static long q_ioctl_now(QueueObject *self, unsigned long req, void *arg)
{
	long ret;

	do
		ret = ioctl(self->fd, req, arg);
	while (ret < 0 && errno == EINTR);
	if (ret >= 0)
		return ret;
	return self->closed ? -EBADF : -errno;
}

/*
 * A put or get per w. Most calls need not wait, so the first attempt never
 * sleeps and keeps the GIL; only if it would block is the GIL released
 * for the real wait. Nothing is lost by trying first: a message that
 * arrives for a sleeping getter is handed to that getter, not queued.
 */
static long q_xfer(QueueObject *self, unsigned long req, struct mpq_xfer *x,
		   const struct mpq_wait *w)
{
	long ret;

	x->deadline = w->deadline;
	x->flags = MPQ_XFER_NONBLOCK;
	ret = q_ioctl_now(self, req, x);
	if (ret != -EAGAIN || (w->flags & MPQ_XFER_NONBLOCK))
		return ret;
	x->flags = w->flags;
	return q_ioctl_wait(self, req, x);
}

/* --- errors -------------------------------------------------------- */

static PyObject *err_closed(QueueObject *self)
{
	PyErr_Format(PyExc_ValueError, "Queue %R is closed", (PyObject *)self);
	return NULL;
}

static PyObject *err_too_big(QueueObject *self, Py_ssize_t len)
{
	PyErr_Format(PyExc_ValueError,
		     "message of %zd bytes is larger than this queue's "
		     "message limit of %llu bytes (msgsize_max; mpq.ko's "
		     "msgsize_limit caps it)", len,
		     (unsigned long long)self->msgsize_max);
	return NULL;
}

enum op { OP_PUT, OP_GET, OP_OTHER };

/* Raise the Python exception for a negative errno of an operation. */
static PyObject *q_error(QueueObject *self, long err, enum op op,
			 Py_ssize_t len)
{
	if (err == ERR_PY)
		return NULL;
	switch (-err) {
	case EAGAIN:
	case ETIMEDOUT:
		PyErr_SetNone(op == OP_PUT ? Full : Empty);
		return NULL;
	case EPIPE:
		PyErr_SetNone(ShutDown);
		return NULL;
	case EBADF:
		if (self->closed)
			return err_closed(self);
		PyErr_SetString(PyExc_PermissionError,
				"this handle of the queue was opened without "
				"the access this call needs");
		return NULL;
	case EMSGSIZE:
		if (op == OP_PUT)
			return err_too_big(self, len);
		break;
	}
	errno = (int)-err;
	return PyErr_SetFromErrno(PyExc_OSError);
}

/* --- pickling ------------------------------------------------------ */

/* Build mpqdev's Pickler dispatch table again if a reducer was added. */
static int pickler_sync(void)
{
	Py_ssize_t cs = PyDict_Size(copyreg_table);
	Py_ssize_t es = PyDict_Size(extra_reducers);
	PyObject *table;
	int ret;

	if (cs == copyreg_size && es == extra_size)
		return 0;
	table = PyDict_Copy(copyreg_table);
	if (!table)
		return -1;
	if (PyDict_Update(table, extra_reducers)) {
		Py_DECREF(table);
		return -1;
	}
	ret = PyObject_SetAttr(Pickler, str_dispatch_table, table);
	Py_DECREF(table);
	if (ret)
		return ret;
	copyreg_size = cs;
	extra_size = es;
	return 0;
}

/*
 * The commonest exact types, pickled here: protocol 4 opcodes, unframed
 * and without memo entries, which pickle.loads() reads like any pickle.
 * No reducer is ever looked up for these types, so the object that comes
 * out is the one ForkingPickler's pickle gives. Returns 1 with *out set,
 * 0 if obj is not one of them (or too big for these opcodes), -1 on error.
 */
static int fast_dumps(PyObject *obj, PyObject **out)
{
	unsigned char hdr[8];
	const char *data = NULL;
	Py_ssize_t dlen = 0, h = 0;
	char *p;

	hdr[h++] = 0x80;		/* PROTO 4 */
	hdr[h++] = 4;
	if (obj == Py_None) {
		hdr[h++] = 'N';
	} else if (obj == Py_True) {
		hdr[h++] = 0x88;	/* NEWTRUE */
	} else if (obj == Py_False) {
		hdr[h++] = 0x89;	/* NEWFALSE */
	} else if (PyLong_CheckExact(obj)) {
		int overflow;
		long v = PyLong_AsLongAndOverflow(obj, &overflow);
		uint32_t u;

		if (v == -1 && PyErr_Occurred())
			return -1;
		if (overflow || v < INT32_MIN || v > INT32_MAX)
			return 0;
		if (v >= 0 && v < 256) {
			hdr[h++] = 'K';			/* BININT1 */
			hdr[h++] = (unsigned char)v;
		} else if (v >= 0 && v < 65536) {
			hdr[h++] = 'M';			/* BININT2 */
			hdr[h++] = (unsigned char)(v & 0xff);
			hdr[h++] = (unsigned char)(v >> 8);
		} else {
			u = (uint32_t)(int32_t)v;
			hdr[h++] = 'J';			/* BININT */
			hdr[h++] = (unsigned char)(u & 0xff);
			hdr[h++] = (unsigned char)((u >> 8) & 0xff);
			hdr[h++] = (unsigned char)((u >> 16) & 0xff);
			hdr[h++] = (unsigned char)(u >> 24);
		}
	} else if (PyBytes_CheckExact(obj) || PyUnicode_CheckExact(obj)) {
		int is_bytes = PyBytes_CheckExact(obj);

		if (is_bytes) {
			if (PyBytes_AsStringAndSize(obj, (char **)&data, &dlen))
				return -1;
		} else {
			data = PyUnicode_AsUTF8AndSize(obj, &dlen);
			if (!data) {
				/* Lone surrogates: pickle knows what to do. */
				PyErr_Clear();
				return 0;
			}
		}
		if (dlen < 256) {
			/* SHORT_BINBYTES, SHORT_BINUNICODE */
			hdr[h++] = is_bytes ? 'C' : 0x8c;
			hdr[h++] = (unsigned char)dlen;
		} else if ((uint64_t)dlen <= UINT32_MAX) {
			/* BINBYTES, BINUNICODE */
			hdr[h++] = is_bytes ? 'B' : 'X';
			hdr[h++] = (unsigned char)(dlen & 0xff);
			hdr[h++] = (unsigned char)((dlen >> 8) & 0xff);
			hdr[h++] = (unsigned char)((dlen >> 16) & 0xff);
			hdr[h++] = (unsigned char)((uint64_t)dlen >> 24);
		} else {
			return 0;
		}
	} else {
		return 0;
	}
	*out = PyBytes_FromStringAndSize(NULL, h + dlen + 1);
	if (!*out)
		return -1;
	p = PyBytes_AsString(*out);
	memcpy(p, hdr, (size_t)h);
	if (dlen)
		memcpy(p + h, data, (size_t)dlen);
	p[h + dlen] = '.';			/* STOP */
	return 1;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * The reverse of fast_dumps() for a pickle made of exactly one of its
 * forms (pickle.dumps() of a small int makes the same). Returns 1 with
 * *out set, 0 if it is another pickle, -1 on error.
 */
static int fast_loads(const unsigned char *p, Py_ssize_t n, PyObject **out)
{
	const unsigned char *body = p + 3;
	Py_ssize_t blen = n - 4;

	if (n < 4 || p[0] != 0x80 || p[1] != 4 || p[n - 1] != '.')
		return 0;
	switch (p[2]) {
	case 'N':
		if (blen)
			return 0;
		Py_INCREF(Py_None);
		*out = Py_None;
		break;
	case 0x88:
	case 0x89:
		if (blen)
			return 0;
		*out = PyBool_FromLong(p[2] == 0x88);
		break;
	case 'K':
		if (blen != 1)
			return 0;
		*out = PyLong_FromLong(body[0]);
		break;
	case 'M':
		if (blen != 2)
			return 0;
		*out = PyLong_FromLong(body[0] | body[1] << 8);
		break;
	case 'J':
		if (blen != 4)
			return 0;
		*out = PyLong_FromLong((int32_t)le32(body));
		break;
	case 'C':
	case 0x8c:
		if (blen < 1 || body[0] != blen - 1)
			return 0;
		if (p[2] == 'C')
			*out = PyBytes_FromStringAndSize((const char *)body + 1,
							 blen - 1);
		else
			*out = PyUnicode_DecodeUTF8((const char *)body + 1,
						    blen - 1, "surrogatepass");
		break;
	case 'B':
	case 'X':
		if (blen < 4 || le32(body) != (uint64_t)blen - 4)
			return 0;
		if (p[2] == 'B')
			*out = PyBytes_FromStringAndSize((const char *)body + 4,
							 blen - 4);
		else
			*out = PyUnicode_DecodeUTF8((const char *)body + 4,
						    blen - 4, "surrogatepass");
		break;
	default:
		return 0;
	}
	return *out ? 1 : -1;
}

/*
 * 1 if obj is made only of exact builtin types for which the pickler
 * never looks up a reducer (None, bool, int, float, bytes, str, and
 * lists, tuples and dicts of them), looking at no more than *budget
 * objects; then pickle.dumps() gives ForkingPickler's very bytes.
 */
static int plain_only(PyObject *obj, int depth, Py_ssize_t *budget)
{
	Py_ssize_t i, n, pos = 0;
	PyObject *k, *v;

	if (--*budget < 0 || depth > 8)
		return 0;
	if (obj == Py_None || PyBool_Check(obj) || PyLong_CheckExact(obj) ||
	    PyFloat_CheckExact(obj) || PyBytes_CheckExact(obj) ||
	    PyUnicode_CheckExact(obj))
		return 1;
	if (PyList_CheckExact(obj) || PyTuple_CheckExact(obj)) {
		int list = PyList_CheckExact(obj);

		n = list ? PyList_Size(obj) : PyTuple_Size(obj);
		for (i = 0; i < n; i++)
			if (!plain_only(list ? PyList_GetItem(obj, i) :
					PyTuple_GetItem(obj, i),
					depth + 1, budget))
				return 0;
		return 1;
	}
	if (PyDict_CheckExact(obj)) {
		while (PyDict_Next(obj, &pos, &k, &v))
			if (!plain_only(k, depth + 1, budget) ||
			    !plain_only(v, depth + 1, budget))
				return 0;
		return 1;
	}
	return 0;
}

/* obj pickled as ForkingPickler.dumps(obj) would: a new bytes object. */
static PyObject *dumps(PyObject *obj)
{
	PyObject *f, *p, *r = NULL, *out = NULL;
	Py_ssize_t budget;

	if (!Pickler) {
		PyErr_SetString(PyExc_RuntimeError,
				"mpqdev._mpqdev used without mpqdev");
		return NULL;
	}
	/*
	 * No reducer is ever looked up for exact builtin types (the pickler
	 * saves them itself, dispatch table or not): small scalars are
	 * written here, and plain data goes to pickle.dumps(), with no
	 * Pickler and BytesIO per call. Anything else takes mpqdev's Pickler.
	 */
	switch (fast_dumps(obj, &out)) {
	case 1:
		return out;
	case -1:
		return NULL;
	}
	budget = 256;
	if (plain_only(obj, 0, &budget))
		return PyObject_CallFunctionObjArgs(plain_dumps, obj, NULL);
	if (pickler_sync())
		return NULL;
	f = PyObject_CallNoArgs(BytesIO);
	if (!f)
		return NULL;
	p = PyObject_CallFunctionObjArgs(Pickler, f, Py_None, NULL);
	if (p) {
		r = PyObject_CallMethodObjArgs(p, str_dump, obj, NULL);
		Py_DECREF(p);
	}
	if (r) {
		Py_DECREF(r);
		out = PyObject_CallMethodObjArgs(f, str_getvalue, NULL);
	}
	Py_DECREF(f);
	return out;
}

/* pickle.loads() of len bytes at buf, without copying them first. */
static PyObject *loads_mem(char *buf, Py_ssize_t len)
{
	PyObject *mv, *obj;

	switch (fast_loads((const unsigned char *)buf, len, &obj)) {
	case 1:
		return obj;
	case -1:
		return NULL;
	}
	mv = PyMemoryView_FromMemory(buf, len, PyBUF_READ);
	if (!mv)
		return NULL;
	obj = PyObject_CallFunctionObjArgs(loads, mv, NULL);
	Py_DECREF(mv);
	return obj;
}

/* --- creating ------------------------------------------------------ */

/* mpq.ko's msgsize_limit, or its default when it cannot be read. */
static uint64_t msgsize_limit(void)
{
	char buf[32];
	ssize_t n;
	int fd;
	unsigned long long v;
	char *end;

	fd = open(MSGSIZE_LIMIT_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return MSGSIZE_LIMIT_DEFAULT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return MSGSIZE_LIMIT_DEFAULT;
	buf[n] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	if (errno || end == buf || v == 0)
		return MSGSIZE_LIMIT_DEFAULT;
	return v;
}

static int control_ioctl(unsigned long req, void *arg)
{
	int cfd, ret, err;

	cfd = open(MPQ_CONTROL_PATH, O_RDWR | O_CLOEXEC);
	if (cfd < 0)
		return -errno;
	do
		ret = ioctl(cfd, req, arg);
	while (ret < 0 && errno == EINTR);
	err = errno;
	close(cfd);
	return ret < 0 ? -err : ret;
}

/* Raise OSError for -err, naming the control device or a file. */
static void *control_error(int err, PyObject *name)
{
	if (err == -ENOENT && !name) {
		PyErr_SetString(PyExc_FileNotFoundError,
				MPQ_CONTROL_PATH " is missing: is mpq.ko loaded?");
		return NULL;
	}
	errno = -err;
	if (name)
		PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, name);
	else
		PyErr_SetFromErrno(PyExc_OSError);
	return NULL;
}

/* A creation naming a missing dead-letter queue: FileNotFoundError for it. */
static void *dead_letter_error(int err, const char *dead_letter)
{
	PyObject *name = PyUnicode_FromString(dead_letter);

	if (name) {
		control_error(err, name);
		Py_DECREF(name);
	}
	return NULL;
}

static void queue_set_closed_fd(QueueObject *self)
{
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	self->closed = 1;
}

/*
 * Take ownership of fd and learn its message limit. On a redelivery
 * queue, an @inherited fd (unpickled in a spawned child, so the parent's
 * open file) is replaced by a file of our own at its first use.
 */
static int queue_adopt(QueueObject *self, int fd, int inherited)
{
	struct mpq_info info;
	struct mpq_stat st;

	if (ioctl(fd, MPQ_IOC_STAT, &st) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		if (err == ENOTTY || err == EINVAL)
			PyErr_SetString(PyExc_ValueError,
					"descriptor is not an mpq queue");
		else
			PyErr_SetFromErrno(PyExc_OSError);
		return -1;
	}
	queue_set_closed_fd(self);
	self->fd = fd;
	self->closed = 0;
	self->msgsize_max = st.msgsize_max;
	self->redeliver = ioctl(fd, MPQ_IOC_INFO, &info) == 0 &&
			  (info.flags & MPQ_CREATE_REDELIVER);
	self->owner = inherited ? 0 : (long)getpid();
	return 0;
}

/*
 * Redelivery: what a get takes belongs to the open file, and a forked or
 * spawned child shares its parent's. The first use in another process
 * puts a new file of the queue under the same descriptor number, so a
 * killed child's messages come back while its parent lives on. The GIL
 * is held throughout: no other thread of ours sees the swap half done.
 */
static int queue_own(QueueObject *self)
{
	long pid = (long)getpid();
	__u32 how = MPQ_CREATE_CLOEXEC;
	int nfd, ret;

	if (self->owner == pid)
		return 0;
	nfd = ioctl(self->fd, MPQ_IOC_REOPEN, &how);
	if (nfd < 0) {
		PyErr_SetFromErrno(PyExc_OSError);
		return -1;
	}
	do
		ret = dup3(nfd, self->fd, O_CLOEXEC);
	while (ret < 0 && (errno == EINTR || errno == EBUSY));
	if (ret < 0) {
		PyErr_SetFromErrno(PyExc_OSError);
		close(nfd);
		return -1;
	}
	close(nfd);
	self->owner = pid;
	return 0;
}

static int Queue_init(PyObject *op, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "maxsize", "_fd", "_inherited", "redeliver",
				  "max_deliveries", "dead_letter", NULL };
	QueueObject *self = (QueueObject *)op;
	int fd = -1, inherited = 0, redeliver = 0;
	unsigned int max_deliveries = 0;
	const char *dead_letter = NULL;
	struct mpq_create c;
	Py_ssize_t maxsize = 0;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "|n$ippIz:Queue", kwlist,
					 &maxsize, &fd, &inherited, &redeliver,
					 &max_deliveries, &dead_letter))
		return -1;
	if (fd >= 0)
		return queue_adopt(self, fd, inherited);
	memset(&c, 0, sizeof(c));
	c.maxsize = maxsize > 0 ? (__u64)maxsize : 0;
	c.msgsize_max = msgsize_limit();
	c.flags = MPQ_CREATE_CLOEXEC | (redeliver ? MPQ_CREATE_REDELIVER : 0);
	c.max_deliveries = max_deliveries;
	c.dead_letter = (uintptr_t)dead_letter;
	fd = control_ioctl(MPQ_IOC_CREATE, &c);
	if (fd == -EINVAL) {
		/* msgsize_limit lowered since we read it: take the default. */
		c.msgsize_max = 0;
		fd = control_ioctl(MPQ_IOC_CREATE, &c);
	}
	if (fd < 0) {
		if (fd == -ENOENT && dead_letter)
			dead_letter_error(fd, dead_letter);
		else
			control_error(fd, NULL);
		return -1;
	}
	return queue_adopt(self, fd, 0);
}

static PyObject *Queue_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
	allocfunc alloc = (allocfunc)PyType_GetSlot(type, Py_tp_alloc);
	QueueObject *self;

	(void)args;
	(void)kwds;
	self = (QueueObject *)alloc(type, 0);
	if (!self)
		return NULL;
	self->fd = -1;
	self->closed = 1;
	self->msgsize_max = 0;
	self->size_hint = 0;
	self->redeliver = 0;
	self->owner = 0;
	return (PyObject *)self;
}

static void Queue_dealloc(PyObject *op)
{
	QueueObject *self = (QueueObject *)op;
	PyTypeObject *tp = Py_TYPE(op);
	freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);

	if (self->fd >= 0)
		close(self->fd);
	tp_free(op);
	Py_DECREF(tp);
}

#define CHECK_OPEN(self)						\
	do {								\
		if ((self)->closed)					\
			return err_closed(self);			\
		if ((self)->redeliver && queue_own(self))		\
			return NULL;					\
	} while (0)

/* --- put / get ----------------------------------------------------- */

/* One message of len bytes at buf, per (block, timeout). */
static PyObject *put_mem(QueueObject *self, const char *buf, Py_ssize_t len,
			 int block, PyObject *timeout)
{
	struct mpq_xfer x;
	struct mpq_wait w;
	long ret;

	if (len == 0) {
		PyErr_SetString(PyExc_ValueError,
				"an mpq message cannot be empty");
		return NULL;
	}
	if ((uint64_t)len > self->msgsize_max)
		return err_too_big(self, len);
	if (wait_init(&w, block, timeout))
		return NULL;
	memset(&x, 0, sizeof(x));
	x.buf = (uintptr_t)buf;
	x.len = (__u64)len;
	ret = q_xfer(self, MPQ_IOC_PUT, &x, &w);
	if (ret < 0)
		return q_error(self, ret, OP_PUT, len);
	Py_RETURN_NONE;
}

static PyObject *put_obj(QueueObject *self, PyObject *obj, int block,
			 PyObject *timeout)
{
	PyObject *data, *ret;
	char *buf;
	Py_ssize_t len;

	CHECK_OPEN(self);
	data = dumps(obj);
	if (!data)
		return NULL;
	if (PyBytes_AsStringAndSize(data, &buf, &len)) {
		Py_DECREF(data);
		return NULL;
	}
	ret = put_mem(self, buf, len, block, timeout);
	Py_DECREF(data);
	return ret;
}

static PyObject *Queue_put(PyObject *op, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "obj", "block", "timeout", NULL };
	PyObject *obj, *timeout = Py_None;
	int block = 1;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|pO:put", kwlist,
					 &obj, &block, &timeout))
		return NULL;
	return put_obj((QueueObject *)op, obj, block, timeout);
}

static PyObject *Queue_put_nowait(PyObject *op, PyObject *obj)
{
	return put_obj((QueueObject *)op, obj, 0, NULL);
}

static PyObject *Queue_put_bytes(PyObject *op, PyObject *args,
				 PyObject *kwds)
{
	static char *kwlist[] = { "data", "block", "timeout", NULL };
	QueueObject *self = (QueueObject *)op;
	PyObject *timeout = Py_None, *ret;
	Py_buffer b;
	int block = 1;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*|pO:put_bytes", kwlist,
					 &b, &block, &timeout))
		return NULL;
	if (self->closed) {
		PyBuffer_Release(&b);
		return err_closed(self);
	}
	ret = put_mem(self, b.buf, b.len, block, timeout);
	PyBuffer_Release(&b);
	return ret;
}

/*
 * Receive one message per w into buf (capacity cap). A bigger message is
 * received into a malloc() buffer, stored in *heap for the caller to
 * free (*heap may already hold one, of capacity cap, when buf == *heap).
 * Returns the length and sets *out to where it is, or -1 with a Python
 * exception set.
 */
static Py_ssize_t get_mem(QueueObject *self, char *buf, size_t cap,
			  char **heap, char **out, struct mpq_wait w,
			  unsigned int *deliveries)
{
	struct mpq_xfer x;
	char *p;
	long ret;

	for (;;) {
		memset(&x, 0, sizeof(x));
		x.buf = (uintptr_t)buf;
		x.len = cap;
		x.deliveries = 1;	/* what a plain queue leaves */
		ret = q_xfer(self, MPQ_IOC_GET, &x, &w);
		if (ret != -EMSGSIZE || x.len <= cap)
			break;
		/* Another consumer may take it first: loop, same deadline. */
		p = realloc(*heap, x.len);
		if (!p) {
			PyErr_NoMemory();
			return -1;
		}
		buf = *heap = p;
		cap = x.len;
	}
	if (ret == 0)		/* end of stream */
		ret = -EPIPE;
	if (ret < 0) {
		q_error(self, ret, OP_GET, 0);
		return -1;
	}
	/* Big messages tend to follow big ones: start there next time. */
	self->size_hint = (size_t)ret > GET_STACK ? (size_t)ret : 0;
	*out = buf;
	if (deliveries)
		*deliveries = x.deliveries;
	return ret;
}

static PyObject *get_wait_counted(QueueObject *self, struct mpq_wait w,
				  int raw, unsigned int *deliveries)
{
	char stack[GET_STACK], *buf = stack, *heap = NULL, *at;
	size_t cap = sizeof(stack);
	PyObject *obj = NULL;
	Py_ssize_t n;

	if (self->size_hint > cap) {
		heap = malloc(self->size_hint);
		if (heap) {
			buf = heap;
			cap = self->size_hint;
		}
	}
	n = get_mem(self, buf, cap, &heap, &at, w, deliveries);
	if (n >= 0) {
		if (raw)
			obj = PyBytes_FromStringAndSize(at, n);
		else
			obj = loads_mem(at, n);
	}
	free(heap);
	return obj;
}

static PyObject *get_wait(QueueObject *self, struct mpq_wait w, int raw)
{
	return get_wait_counted(self, w, raw, NULL);
}

static PyObject *get_common(QueueObject *self, int block, PyObject *timeout,
			    int raw)
{
	struct mpq_wait w;

	CHECK_OPEN(self);
	if (wait_init(&w, block, timeout))
		return NULL;
	return get_wait(self, w, raw);
}

static PyObject *Queue_get(PyObject *op, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "block", "timeout", NULL };
	PyObject *timeout = Py_None;
	int block = 1;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "|pO:get", kwlist,
					 &block, &timeout))
		return NULL;
	return get_common((QueueObject *)op, block, timeout, 0);
}

static PyObject *Queue_get_counted(PyObject *op, PyObject *args,
				   PyObject *kwds)
{
	static char *kwlist[] = { "block", "timeout", NULL };
	QueueObject *self = (QueueObject *)op;
	PyObject *timeout = Py_None, *obj;
	unsigned int deliveries = 1;
	struct mpq_wait w;
	int block = 1;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "|pO:get_counted", kwlist,
					 &block, &timeout))
		return NULL;
	CHECK_OPEN(self);
	if (wait_init(&w, block, timeout))
		return NULL;
	obj = get_wait_counted(self, w, 0, &deliveries);
	if (!obj)
		return NULL;
	return Py_BuildValue("(NI)", obj, deliveries);
}

static PyObject *Queue_get_nowait(PyObject *op, PyObject *unused)
{
	(void)unused;
	return get_common((QueueObject *)op, 0, NULL, 0);
}

static PyObject *Queue_get_bytes(PyObject *op, PyObject *args,
				 PyObject *kwds)
{
	static char *kwlist[] = { "block", "timeout", NULL };
	PyObject *timeout = Py_None;
	int block = 1;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "|pO:get_bytes", kwlist,
					 &block, &timeout))
		return NULL;
	return get_common((QueueObject *)op, block, timeout, 1);
}

/* --- batches ------------------------------------------------------- */

static PyObject *Queue_put_many(PyObject *op, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "objs", "block", "timeout", NULL };
	QueueObject *self = (QueueObject *)op;
	PyObject *objs, *timeout = Py_None, *seq = NULL, *data = NULL;
	struct mpq_msgvec *vec = NULL;
	struct mpq_batch b;
	Py_ssize_t n, i, done = 0;
	struct mpq_wait w;
	int block = 1;
	long ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|pO:put_many", kwlist,
					 &objs, &block, &timeout))
		return NULL;
	CHECK_OPEN(self);
	seq = PySequence_List(objs);
	if (!seq)
		return NULL;
	n = PyList_Size(seq);
	/* Pickle everything first: a failure queues nothing. */
	data = PyList_New(n);
	if (!data)
		goto out;
	vec = PyMem_Calloc(n ? (size_t)n : 1, sizeof(*vec));
	if (!vec) {
		PyErr_NoMemory();
		goto out;
	}
	for (i = 0; i < n; i++) {
		PyObject *d = dumps(PyList_GetItem(seq, i));
		char *p;
		Py_ssize_t len;

		if (!d)
			goto out;
		PyList_SetItem(data, i, d);
		if (PyBytes_AsStringAndSize(d, &p, &len))
			goto out;
		if ((uint64_t)len > self->msgsize_max) {
			err_too_big(self, len);
			goto out;
		}
		vec[i].buf = (uintptr_t)p;
		vec[i].len = (__u64)len;
	}
	if (wait_init(&w, block, timeout))
		goto out;
	while (done < n) {
		mpq_wait_batch(&b, vec + done, n - done > MPQ_BATCH_MAX ?
			       MPQ_BATCH_MAX : (__u32)(n - done), &w);
		if (w.flags & MPQ_XFER_NONBLOCK)
			ret = q_ioctl_now(self, MPQ_IOC_PUT_MANY, &b);
		else
			ret = q_ioctl_wait(self, MPQ_IOC_PUT_MANY, &b);
		if (ret < 0) {
			if (done && (ret == -EAGAIN || ret == -ETIMEDOUT))
				break;
			q_error(self, ret, OP_PUT, 0);
			goto out;
		}
		done += ret;
	}
	Py_DECREF(seq);
	Py_DECREF(data);
	PyMem_Free(vec);
	return PyLong_FromSsize_t(done);
out:
	Py_XDECREF(seq);
	Py_XDECREF(data);
	PyMem_Free(vec);
	return NULL;
}

static PyObject *Queue_get_many(PyObject *op, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "max_messages", "block", "timeout", NULL };
	QueueObject *self = (QueueObject *)op;
	struct mpq_msgvec vec[GET_MANY_CHUNK];
	PyObject *timeout = Py_None, *list, *obj;
	Py_ssize_t max, i, n;
	struct mpq_batch b;
	struct mpq_wait w;
	size_t slot, slots, biggest;
	char *arena;
	int block = 1, head;
	long ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "n|pO:get_many", kwlist,
					 &max, &block, &timeout))
		return NULL;
	CHECK_OPEN(self);
	if (max < 1) {
		PyErr_SetString(PyExc_ValueError,
				"max_messages must be at least 1");
		return NULL;
	}
	if (wait_init(&w, block, timeout))
		return NULL;
	/* Slots as big as the last big message, in an arena of at most 1 MiB. */
	slot = GET_MANY_SLOT;
	if (self->size_hint > slot)
		slot = (self->size_hint + GET_MANY_SLOT - 1) & ~(size_t)(GET_MANY_SLOT - 1);
	slots = GET_MANY_ARENA / slot;
	if (slots < 1)
		slots = 1;
	if (slots > GET_MANY_CHUNK)
		slots = GET_MANY_CHUNK;
	if ((Py_ssize_t)slots > max)
		slots = (size_t)max;
	list = PyList_New(0);
	if (!list)
		return NULL;
	arena = malloc(slots * slot);
	if (!arena) {
		Py_DECREF(list);
		return PyErr_NoMemory();
	}
	while (PyList_Size(list) < max) {
		n = max - PyList_Size(list);
		if (n > (Py_ssize_t)slots)
			n = (Py_ssize_t)slots;
		for (i = 0; i < n; i++) {
			vec[i].buf = (uintptr_t)(arena + i * slot);
			vec[i].len = slot;
			vec[i].result = 0;
		}
		mpq_wait_batch(&b, vec, (__u32)n, &w);
		if (w.flags & MPQ_XFER_NONBLOCK)
			ret = q_ioctl_now(self, MPQ_IOC_GET_MANY, &b);
		else
			ret = q_ioctl_wait(self, MPQ_IOC_GET_MANY, &b);
		if (ret == -EMSGSIZE) {
			/* A message bigger than a slot at the head: alone. */
			obj = get_wait(self, w, 0);
			if (!obj) {
				if (PyList_Size(list) &&
				    (PyErr_ExceptionMatches(Empty) ||
				     PyErr_ExceptionMatches(ShutDown))) {
					PyErr_Clear();
					break;
				}
				goto fail;
			}
			ret = PyList_Append(list, obj);
			Py_DECREF(obj);
			if (ret)
				goto fail;
		} else if (ret <= 0) {
			if (PyList_Size(list) && ret != ERR_PY)
				break;
			q_error(self, ret ? ret : -EPIPE, OP_GET, 0);
			goto fail;
		} else {
			biggest = 0;
			for (i = 0; i < ret; i++)
				if (vec[i].result > biggest)
					biggest = vec[i].result;
			self->size_hint = biggest > GET_STACK ? biggest : 0;
			for (i = 0; i < ret; i++) {
				obj = loads_mem((char *)(uintptr_t)vec[i].buf,
						(Py_ssize_t)vec[i].result);
				if (!obj || PyList_Append(list, obj)) {
					Py_XDECREF(obj);
					goto fail;
				}
				Py_DECREF(obj);
			}
			if (ret < n) {
				/* Stopped early: empty, or a big message. */
				if (ioctl(self->fd, FIONREAD, &head) < 0 ||
				    head == 0)
					break;
			}
		}
		w.flags = MPQ_XFER_NONBLOCK;
	}
	free(arena);
	return list;
fail:
	free(arena);
	Py_DECREF(list);
	return NULL;
}

/* --- state --------------------------------------------------------- */

static int q_stat(QueueObject *self, struct mpq_stat *st)
{
	long ret;

	if (self->closed) {
		err_closed(self);
		return -1;
	}
	ret = q_ioctl_now(self, MPQ_IOC_STAT, st);
	if (ret < 0) {
		q_error(self, ret, OP_OTHER, 0);
		return -1;
	}
	return 0;
}

static PyObject *Queue_qsize(PyObject *op, PyObject *unused)
{
	struct mpq_stat st;

	(void)unused;
	if (q_stat((QueueObject *)op, &st))
		return NULL;
	return PyLong_FromUnsignedLongLong(st.qsize);
}

static PyObject *Queue_empty(PyObject *op, PyObject *unused)
{
	struct mpq_stat st;

	(void)unused;
	if (q_stat((QueueObject *)op, &st))
		return NULL;
	return PyBool_FromLong(st.qsize == 0);
}

static PyObject *Queue_full(PyObject *op, PyObject *unused)
{
	struct mpq_stat st;

	(void)unused;
	if (q_stat((QueueObject *)op, &st))
		return NULL;
	return PyBool_FromLong((st.maxsize && st.qsize >= st.maxsize) ||
			       st.bytes + 1 > st.maxbytes);
}

static PyObject *Queue_stat(PyObject *op, PyObject *unused)
{
	static const char *states[] = { "open", "shutdown", "immediate" };
	struct mpq_stat st;

	(void)unused;
	if (q_stat((QueueObject *)op, &st))
		return NULL;
	return Py_BuildValue(
		"{sKsKsKsKsKsKsKsKsssIsIsIsKsKsKsK}",
		"qsize", (unsigned long long)st.qsize,
		"bytes", (unsigned long long)st.bytes,
		"unfinished", (unsigned long long)st.unfinished,
		"maxsize", (unsigned long long)st.maxsize,
		"msgsize_max", (unsigned long long)st.msgsize_max,
		"maxbytes", (unsigned long long)st.maxbytes,
		"total_puts", (unsigned long long)st.total_puts,
		"total_gets", (unsigned long long)st.total_gets,
		"state", st.state < 3 ? states[st.state] : "unknown",
		"getters", (unsigned int)st.getters,
		"putters", (unsigned int)st.putters,
		"joiners", (unsigned int)st.joiners,
		"discarded", (unsigned long long)st.discarded,
		"in_flight", (unsigned long long)st.in_flight,
		"redelivered", (unsigned long long)st.redelivered,
		"dead_lettered", (unsigned long long)st.dead_lettered);
}

static PyObject *Queue_fileno(PyObject *op, PyObject *unused)
{
	QueueObject *self = (QueueObject *)op;

	(void)unused;
	CHECK_OPEN(self);
	return PyLong_FromLong(self->fd);
}

static PyObject *Queue_close(PyObject *op, PyObject *unused)
{
	QueueObject *self = (QueueObject *)op;
	int ph, ret;

	(void)unused;
	if (self->closed)
		Py_RETURN_NONE;
	self->closed = 1;
	ph = eventfd(0, EFD_CLOEXEC);
	if (ph >= 0) {
		do
			ret = dup3(ph, self->fd, O_CLOEXEC);
		while (ret < 0 && (errno == EINTR || errno == EBUSY));
		close(ph);
		if (ret >= 0)
			Py_RETURN_NONE;
	}
	/* No descriptor to spare for a placeholder: really close it. */
	close(self->fd);
	self->fd = -1;
	Py_RETURN_NONE;
}

static PyObject *Queue_join_thread(PyObject *op, PyObject *unused)
{
	QueueObject *self = (QueueObject *)op;

	(void)unused;
	/* multiprocessing asserts this; there is nothing to flush. */
	if (!self->closed) {
		PyErr_Format(PyExc_AssertionError, "Queue %R not closed", op);
		return NULL;
	}
	Py_RETURN_NONE;
}

static PyObject *Queue_cancel_join_thread(PyObject *op, PyObject *unused)
{
	(void)op;
	(void)unused;
	Py_RETURN_NONE;
}

/*
 * task_done(count=1) and nack(count=1): an ioctl taking a count; EINVAL
 * (more than there are) is ValueError @einval.
 */
static PyObject *count_ioctl(PyObject *op, PyObject *args, const char *fmt,
			     unsigned long req, const char *einval)
{
	QueueObject *self = (QueueObject *)op;
	unsigned long long count = 1;
	__u64 n;
	long ret;

	if (!PyArg_ParseTuple(args, fmt, &count))
		return NULL;
	CHECK_OPEN(self);
	n = count;
	ret = q_ioctl_now(self, req, &n);
	if (ret == -EINVAL) {
		PyErr_SetString(PyExc_ValueError, einval);
		return NULL;
	}
	if (ret == -EOPNOTSUPP) {
		PyErr_SetString(PyExc_ValueError,
				"nack() on a queue without redelivery");
		return NULL;
	}
	if (ret < 0)
		return q_error(self, ret, OP_OTHER, 0);
	Py_RETURN_NONE;
}

static PyObject *Queue_task_done(PyObject *op, PyObject *args)
{
	return count_ioctl(op, args, "|K:task_done", MPQ_IOC_TASK_DONE,
			   ((QueueObject *)op)->redeliver ?
			   "task_done() of more items than this process got" :
			   "task_done() called too many times");
}

static PyObject *Queue_nack(PyObject *op, PyObject *args)
{
	return count_ioctl(op, args, "|K:nack", MPQ_IOC_NACK,
			   "nack() of more items than this process got");
}

static PyObject *Queue_join(PyObject *op, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "timeout", NULL };
	QueueObject *self = (QueueObject *)op;
	PyObject *timeout = Py_None;
	struct mpq_join j;
	struct mpq_wait w;
	long ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:join", kwlist,
					 &timeout))
		return NULL;
	CHECK_OPEN(self);
	if (wait_init(&w, 1, timeout))
		return NULL;
	memset(&j, 0, sizeof(j));
	j.flags = w.flags;
	j.deadline = w.deadline;
	ret = q_ioctl_wait(self, MPQ_IOC_JOIN, &j);
	if (ret == -ETIMEDOUT)
		Py_RETURN_FALSE;
	if (ret < 0)
		return q_error(self, ret, OP_OTHER, 0);
	Py_RETURN_TRUE;
}

static PyObject *Queue_shutdown(PyObject *op, PyObject *args, PyObject *kwds)
{
	static char *kwlist[] = { "immediate", NULL };
	QueueObject *self = (QueueObject *)op;
	int immediate = 0;
	__u32 flags;
	long ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwds, "|p:shutdown", kwlist,
					 &immediate))
		return NULL;
	CHECK_OPEN(self);
	flags = immediate ? MPQ_SHUTDOWN_IMMEDIATE : 0;
	ret = q_ioctl_now(self, MPQ_IOC_SHUTDOWN, &flags);
	if (ret < 0)
		return q_error(self, ret, OP_OTHER, 0);
	Py_RETURN_NONE;
}

static PyObject *Queue_get_closed(PyObject *op, void *unused)
{
	(void)unused;
	return PyBool_FromLong(((QueueObject *)op)->closed);
}

static PyObject *Queue_get_msgsize_max(PyObject *op, void *unused)
{
	(void)unused;
	return PyLong_FromUnsignedLongLong(((QueueObject *)op)->msgsize_max);
}

PyDoc_STRVAR(put_doc,
"put(obj, block=True, timeout=None)\n--\n\n"
"Put obj into the queue, pickled here with multiprocessing's reducers.\n\n"
"Blocks while the queue is full (maxsize messages or maxbytes bytes),\n"
"at most timeout seconds, and raises queue.Full if it stays full or if\n"
"block is false. The item is in the queue when put() returns: nothing\n"
"is buffered in this process. Raises ShutDown after shutdown(),\n"
"ValueError if the queue is closed or the pickle is larger than the\n"
"queue's message limit, and whatever pickling raises (nothing is queued\n"
"then).");
PyDoc_STRVAR(put_nowait_doc,
"put_nowait(obj)\n--\n\nput(obj, False): raise queue.Full at once if full.");
PyDoc_STRVAR(get_doc,
"get(block=True, timeout=None)\n--\n\n"
"Remove and return the object at the head of the queue.\n\n"
"Blocks while the queue is empty, at most timeout seconds, and raises\n"
"queue.Empty if it stays empty or if block is false. After shutdown()\n"
"it returns what is left, then raises ShutDown.");
PyDoc_STRVAR(get_nowait_doc,
"get_nowait()\n--\n\nget(False): raise queue.Empty at once if empty.");
PyDoc_STRVAR(put_bytes_doc,
"put_bytes(data, block=True, timeout=None)\n--\n\n"
"Put a bytes-like object as one raw message, not pickled: what C\n"
"programs, mpqctl and 'echo > /dev/mpq/NAME' read. Empty messages do not\n"
"exist (ValueError). Otherwise as put().");
PyDoc_STRVAR(get_bytes_doc,
"get_bytes(block=True, timeout=None)\n--\n\n"
"Take one message as bytes, not unpickled: what C programs, mpqctl and\n"
"'echo > /dev/mpq/NAME' wrote. Otherwise as get().");
PyDoc_STRVAR(put_many_doc,
"put_many(objs, block=True, timeout=None)\n--\n\n"
"Put every object of the iterable objs, in order, with few system calls.\n\n"
"All are pickled first (a failure queues none). The call waits (per\n"
"block and timeout) while the queue is full and returns the number of\n"
"objects queued: all of them unless the wait ended; it raises\n"
"queue.Full only if none could be queued.");
PyDoc_STRVAR(get_many_doc,
"get_many(max_messages, block=True, timeout=None)\n--\n\n"
"Return a list of 1 to max_messages objects, oldest first.\n\n"
"Waits (per block and timeout) only for the first, then takes what is\n"
"queued. Raises queue.Empty, or ShutDown at the end of the stream, if\n"
"none could be taken.");
PyDoc_STRVAR(qsize_doc,
"qsize()\n--\n\nThe number of messages in the queue now (exact).");
PyDoc_STRVAR(empty_doc,
"empty()\n--\n\nTrue if no message is queued now (exact).");
PyDoc_STRVAR(full_doc,
"full()\n--\n\nTrue if a put would block now: maxsize messages or maxbytes\n"
"bytes are queued (exact).");
PyDoc_STRVAR(stat_doc,
"stat()\n--\n\n"
"A consistent snapshot of the queue's counters as a dict: qsize, bytes,\n"
"unfinished, maxsize, msgsize_max, maxbytes, total_puts, total_gets,\n"
"state ('open', 'shutdown', 'immediate'), getters, putters, joiners\n"
"(tasks blocked in get, put, join) and discarded.");
PyDoc_STRVAR(fileno_doc,
"fileno()\n--\n\n"
"The queue's descriptor, for select/poll/epoll: readable (EPOLLIN) when a\n"
"get would not block, writable (EPOLLOUT) when a put would not block,\n"
"EPOLLPRI when nothing is unfinished (a join would not block).");
PyDoc_STRVAR(close_doc,
"close()\n--\n\n"
"End this handle's use of the queue: every later call on it raises\n"
"ValueError. Other handles and processes are not affected, and nothing\n"
"put is lost: there is no feeder thread to flush.");
PyDoc_STRVAR(join_thread_doc,
"join_thread()\n--\n\n"
"For multiprocessing's API: there is no feeder thread, so nothing to\n"
"wait for. Like multiprocessing, it must follow close().");
PyDoc_STRVAR(cancel_join_thread_doc,
"cancel_join_thread()\n--\n\n"
"For multiprocessing's API: does nothing, and no data can be lost, as\n"
"nothing is ever buffered in the process.");
PyDoc_STRVAR(task_done_doc,
"task_done()\n--\n\n"
"Mark one item taken by get() as done. Raises ValueError if called more\n"
"times than items were put.");
PyDoc_STRVAR(join_doc,
"join(timeout=None)\n--\n\n"
"Block until every item ever put has been marked done by task_done().\n"
"Returns True, or False if timeout seconds passed first.");
PyDoc_STRVAR(shutdown_doc,
"shutdown(immediate=False)\n--\n\n"
"Shut the queue down, for every process at once: puts raise ShutDown\n"
"from now on (blocked ones too); gets return what is left and then\n"
"raise ShutDown. With immediate=True what is queued is discarded (and\n"
"counted done for join()), and every blocked get raises ShutDown.");

static PyMethodDef Queue_methods[] = {
	{ "put", (PyCFunction)(void (*)(void))Queue_put,
	  METH_VARARGS | METH_KEYWORDS, put_doc },
	{ "put_nowait", Queue_put_nowait, METH_O, put_nowait_doc },
	{ "get", (PyCFunction)(void (*)(void))Queue_get,
	  METH_VARARGS | METH_KEYWORDS, get_doc },
	{ "get_nowait", Queue_get_nowait, METH_NOARGS, get_nowait_doc },
	{ "put_bytes", (PyCFunction)(void (*)(void))Queue_put_bytes,
	  METH_VARARGS | METH_KEYWORDS, put_bytes_doc },
	{ "get_bytes", (PyCFunction)(void (*)(void))Queue_get_bytes,
	  METH_VARARGS | METH_KEYWORDS, get_bytes_doc },
	{ "put_many", (PyCFunction)(void (*)(void))Queue_put_many,
	  METH_VARARGS | METH_KEYWORDS, put_many_doc },
	{ "get_many", (PyCFunction)(void (*)(void))Queue_get_many,
	  METH_VARARGS | METH_KEYWORDS, get_many_doc },
	{ "qsize", Queue_qsize, METH_NOARGS, qsize_doc },
	{ "empty", Queue_empty, METH_NOARGS, empty_doc },
	{ "full", Queue_full, METH_NOARGS, full_doc },
	{ "stat", Queue_stat, METH_NOARGS, stat_doc },
	{ "fileno", Queue_fileno, METH_NOARGS, fileno_doc },
	{ "close", Queue_close, METH_NOARGS, close_doc },
	{ "join_thread", Queue_join_thread, METH_NOARGS, join_thread_doc },
	{ "cancel_join_thread", Queue_cancel_join_thread, METH_NOARGS,
	  cancel_join_thread_doc },
	{ "shutdown", (PyCFunction)(void (*)(void))Queue_shutdown,
	  METH_VARARGS | METH_KEYWORDS, shutdown_doc },
	{ NULL, NULL, 0, NULL }
};

PyDoc_STRVAR(get_counted_doc,
"get_counted(block=True, timeout=None)\n--\n\n"
"get(), returning (obj, deliveries): how many times this item has been\n"
"delivered, 1 the first time; more only on a redelivery queue, where it\n"
"came back from a consumer that died or called nack().");
PyDoc_STRVAR(nack_doc,
"nack(count=1)\n--\n\n"
"Redelivery: give back the oldest item this process got and has not\n"
"marked done, for delivery again (to any consumer). ValueError if it\n"
"holds fewer, or the queue has no redelivery.");

static PyMethodDef Joinable_methods[] = {
	{ "get_counted", (PyCFunction)(void (*)(void))Queue_get_counted,
	  METH_VARARGS | METH_KEYWORDS, get_counted_doc },
	{ "nack", Queue_nack, METH_VARARGS, nack_doc },
	{ "task_done", Queue_task_done, METH_VARARGS, task_done_doc },
	{ "join", (PyCFunction)(void (*)(void))Queue_join,
	  METH_VARARGS | METH_KEYWORDS, join_doc },
	{ NULL, NULL, 0, NULL }
};

static PyObject *Queue_get_redeliver(PyObject *op, void *unused)
{
	(void)unused;
	return PyBool_FromLong(((QueueObject *)op)->redeliver);
}

static PyGetSetDef Queue_getset[] = {
	{ "_closed", Queue_get_closed, NULL, "True after close().", NULL },
	{ "redeliver", Queue_get_redeliver, NULL,
	  "True if the queue was created with redelivery.", NULL },
	{ "msgsize_max", Queue_get_msgsize_max, NULL,
	  "The largest message (pickle) this queue accepts, in bytes.", NULL },
	{ NULL, NULL, NULL, NULL, NULL }
};

PyDoc_STRVAR(Queue_doc,
"_Queue(maxsize=0)\n--\n\n"
"An mpq queue handle: the C base of mpqdev.Queue. Use mpqdev.Queue.");

static PyType_Slot Queue_slots[] = {
	{ Py_tp_doc, (void *)Queue_doc },
	{ Py_tp_new, Queue_new },
	{ Py_tp_init, Queue_init },
	{ Py_tp_dealloc, Queue_dealloc },
	{ Py_tp_methods, Queue_methods },
	{ Py_tp_getset, Queue_getset },
	{ 0, NULL }
};

static PyType_Spec Queue_spec = {
	.name = "mpqdev._mpqdev._Queue",
	.basicsize = sizeof(QueueObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.slots = Queue_slots,
};

PyDoc_STRVAR(Joinable_doc,
"_JoinableQueue(maxsize=0)\n--\n\n"
"_Queue with task_done() and join(). Use mpqdev.JoinableQueue.");

static PyType_Slot Joinable_slots[] = {
	{ Py_tp_doc, (void *)Joinable_doc },
	{ Py_tp_methods, Joinable_methods },
	{ 0, NULL }
};

static PyType_Spec Joinable_spec = {
	.name = "mpqdev._mpqdev._JoinableQueue",
	.basicsize = 0,
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
	.slots = Joinable_slots,
};

/* --- module functions ---------------------------------------------- */

/* Copy and check a queue name (with or without a leading '/'). */
static int name_copy(char dst[MPQ_NAME_SIZE], PyObject *nameobj)
{
	Py_ssize_t len, i;
	const char *name = PyUnicode_AsUTF8AndSize(nameobj, &len);

	if (!name)
		return -1;
	if (name[0] == '/') {
		name++;
		len--;
	}
	if (len == 0 || len > MPQ_NAME_MAX || name[0] == '.' ||
	    !strcmp(name, "control"))
		goto bad;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			goto bad;
	}
	memset(dst, 0, MPQ_NAME_SIZE);
	memcpy(dst, name, (size_t)len);
	return 0;
bad:
	PyErr_Format(PyExc_ValueError,
		     "bad queue name %R: 1 to %d characters of "
		     "[A-Za-z0-9._-], not starting with '.', not 'control'",
		     nameobj, MPQ_NAME_MAX);
	return -1;
}

PyDoc_STRVAR(create_named_doc,
"_create_named(name, mode, maxsize) -> bool\n--\n\n"
"Create /dev/mpq/NAME with the module's message limit. True if created,\n"
"False if it already existed.");

static PyObject *mod_create_named(PyObject *mod, PyObject *args)
{
	unsigned int mode, max_deliveries = 0;
	const char *dead_letter = NULL;
	struct mpq_create c;
	int ret, redeliver = 0;
	Py_ssize_t maxsize;
	PyObject *name;

	(void)mod;
	if (!PyArg_ParseTuple(args, "UIn|pIz:_create_named", &name, &mode,
			      &maxsize, &redeliver, &max_deliveries,
			      &dead_letter))
		return NULL;
	memset(&c, 0, sizeof(c));
	if (name_copy(c.name, name))
		return NULL;
	if (mode & ~0777U) {
		PyErr_SetString(PyExc_ValueError, "mode must be within 0o777");
		return NULL;
	}
	c.mode = mode;
	c.maxsize = maxsize > 0 ? (__u64)maxsize : 0;
	c.msgsize_max = msgsize_limit();
	c.flags = redeliver ? MPQ_CREATE_REDELIVER : 0;
	c.max_deliveries = max_deliveries;
	c.dead_letter = (uintptr_t)dead_letter;
	ret = control_ioctl(MPQ_IOC_CREATE_NAMED, &c);
	if (ret == -EINVAL) {
		c.msgsize_max = 0;
		ret = control_ioctl(MPQ_IOC_CREATE_NAMED, &c);
	}
	if (ret == -EEXIST)
		Py_RETURN_FALSE;
	if (ret == -ENOENT && dead_letter)
		return dead_letter_error(ret, dead_letter);
	if (ret < 0)
		return control_error(ret, ret == -ENOENT ? NULL : name);
	Py_RETURN_TRUE;
}

PyDoc_STRVAR(remove_named_doc,
"_remove_named(name)\n--\n\nRemove /dev/mpq/NAME.");

static PyObject *mod_remove_named(PyObject *mod, PyObject *args)
{
	struct mpq_name n;
	PyObject *name;
	int ret;

	(void)mod;
	if (!PyArg_ParseTuple(args, "U:_remove_named", &name))
		return NULL;
	if (name_copy(n.name, name))
		return NULL;
	ret = control_ioctl(MPQ_IOC_REMOVE, &n);
	if (ret == -ENOENT) {
		/* The control node exists, so the queue does not. */
		if (access(MPQ_CONTROL_PATH, F_OK) == 0)
			return control_error(ret, name);
	}
	if (ret < 0)
		return control_error(ret, ret == -ENOENT ? NULL : name);
	Py_RETURN_NONE;
}

PyDoc_STRVAR(check_name_doc,
"_check_name(name) -> str\n--\n\nThe name without a leading '/', checked.");

static PyObject *mod_check_name(PyObject *mod, PyObject *name)
{
	char n[MPQ_NAME_SIZE];

	(void)mod;
	if (!PyUnicode_Check(name)) {
		PyErr_SetString(PyExc_TypeError, "a queue name is a str");
		return NULL;
	}
	if (name_copy(n, name))
		return NULL;
	return PyUnicode_FromString(n);
}

PyDoc_STRVAR(dumps_doc,
"_dumps(obj) -> bytes\n--\n\nobj pickled as Queue.put() pickles it.");

static PyObject *mod_dumps(PyObject *mod, PyObject *obj)
{
	(void)mod;
	return dumps(obj);
}

PyDoc_STRVAR(setup_doc,
"_setup(pickler, copyreg_table, extra_reducers, bytesio, loads, dumps)\n--\n\n"
"Called once by mpqdev/__init__.py with the pickling machinery.");

static PyObject *mod_setup(PyObject *mod, PyObject *args)
{
	PyObject *p, *c, *e, *b, *l, *d;

	(void)mod;
	if (!PyArg_ParseTuple(args, "OO!O!OOO:_setup", &p, &PyDict_Type, &c,
			      &PyDict_Type, &e, &b, &l, &d))
		return NULL;
	Py_INCREF(d);
	Py_XDECREF(plain_dumps);
	plain_dumps = d;
	Py_INCREF(p);
	Py_INCREF(c);
	Py_INCREF(e);
	Py_INCREF(b);
	Py_INCREF(l);
	Py_XDECREF(Pickler);
	Py_XDECREF(copyreg_table);
	Py_XDECREF(extra_reducers);
	Py_XDECREF(BytesIO);
	Py_XDECREF(loads);
	Pickler = p;
	copyreg_table = c;
	extra_reducers = e;
	BytesIO = b;
	loads = l;
	copyreg_size = extra_size = -1;
	if (pickler_sync())
		return NULL;
	Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
	{ "_create_named", mod_create_named, METH_VARARGS, create_named_doc },
	{ "_remove_named", mod_remove_named, METH_VARARGS, remove_named_doc },
	{ "_check_name", mod_check_name, METH_O, check_name_doc },
	{ "_dumps", mod_dumps, METH_O, dumps_doc },
	{ "_setup", mod_setup, METH_VARARGS, setup_doc },
	{ NULL, NULL, 0, NULL }
};

static struct PyModuleDef module_def = {
	PyModuleDef_HEAD_INIT,
	.m_name = "mpqdev._mpqdev",
	.m_doc = "The C half of mpqdev; import mpqdev instead.",
	.m_size = -1,
	.m_methods = module_methods,
};

static int add_exceptions(PyObject *m)
{
	PyObject *queue = PyImport_ImportModule("queue");

	if (!queue)
		return -1;
	Empty = PyObject_GetAttrString(queue, "Empty");
	Full = PyObject_GetAttrString(queue, "Full");
	ShutDown = PyObject_GetAttrString(queue, "ShutDown");
	Py_DECREF(queue);
	if (!Empty || !Full)
		return -1;
	if (!ShutDown) {
		/* Python < 3.13: a class of our own. */
		PyErr_Clear();
		ShutDown = PyErr_NewExceptionWithDoc(
			"mpqdev.ShutDown",
			"Raised by put() after shutdown(), and by get() once "
			"a shut down queue is empty\n(queue.ShutDown on "
			"Python 3.13 and later).", NULL, NULL);
		if (!ShutDown)
			return -1;
	}
	Py_INCREF(Empty);
	Py_INCREF(Full);
	Py_INCREF(ShutDown);
	if (PyModule_AddObject(m, "Empty", Empty) ||
	    PyModule_AddObject(m, "Full", Full) ||
	    PyModule_AddObject(m, "ShutDown", ShutDown))
		return -1;
	return 0;
}

PyMODINIT_FUNC PyInit__mpqdev(void)
{
	PyObject *m, *type, *joinable;

	m = PyModule_Create(&module_def);
	if (!m)
		return NULL;
	str_dump = PyUnicode_InternFromString("dump");
	str_getvalue = PyUnicode_InternFromString("getvalue");
	str_dispatch_table = PyUnicode_InternFromString("dispatch_table");
	if (!str_dump || !str_getvalue || !str_dispatch_table)
		goto fail;
	if (add_exceptions(m))
		goto fail;
	type = PyType_FromSpec(&Queue_spec);
	if (!type)
		goto fail;
	joinable = PyType_FromSpecWithBases(&Joinable_spec, type);
	if (PyModule_AddObject(m, "_Queue", type)) {
		Py_DECREF(type);
		Py_XDECREF(joinable);
		goto fail;
	}
	if (!joinable)
		goto fail;
	if (PyModule_AddObject(m, "_JoinableQueue", joinable)) {
		Py_DECREF(joinable);
		goto fail;
	}
	if (PyModule_AddIntConstant(m, "MSGSIZE_LIMIT_DEFAULT",
				    (long)MSGSIZE_LIMIT_DEFAULT) ||
	    PyModule_AddIntConstant(m, "BATCH_MAX", MPQ_BATCH_MAX) ||
	    PyModule_AddStringConstant(m, "__version__", MPQ_VERSION))
		goto fail;
	return m;
fail:
	Py_DECREF(m);
	return NULL;
}
