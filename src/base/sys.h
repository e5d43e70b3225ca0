/* Socket I/O on the request path without libc's cancellation points.
 *
 * In a multi-threaded process glibc wraps read(2), recv(2), send(2) and
 * sendmsg(2) in __pthread_enable_asynccancel/__pthread_disable_asynccancel:
 * two atomic read-modify-writes per call, about 4% of a keep-alive request's
 * CPU in `bench/run --profile` (four such calls per request). certgate never
 * cancels threads, so the request path calls the kernel through syscall(2),
 * which is not a cancellation point. Same contract as the libc functions:
 * -1 with errno set on failure. */
#ifndef CG_BASE_SYS_H
#define CG_BASE_SYS_H

#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline ssize_t cg_sys_read(int fd, void *buf, size_t n)
{
	return (ssize_t)syscall(SYS_read, fd, buf, n);
}

static inline ssize_t cg_sys_recv(int fd, void *buf, size_t n, int flags)
{
	return (ssize_t)syscall(SYS_recvfrom, fd, buf, n, flags, NULL, NULL);
}

static inline ssize_t cg_sys_send(int fd, const void *buf, size_t n, int flags)
{
	return (ssize_t)syscall(SYS_sendto, fd, buf, n, flags, NULL, 0);
}

static inline ssize_t cg_sys_sendmsg(int fd, const struct msghdr *m, int flags)
{
	return (ssize_t)syscall(SYS_sendmsg, fd, m, flags);
}

#endif
