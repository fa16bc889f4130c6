/* LD_PRELOAD shim for the S3 benchmark's small-operation server: sets TCP_NODELAY on every
 * socket the server accepts, so that concurrency-1 rows measure the clients rather than the
 * server's Nagle / delayed-ACK interplay (s3s-fs does not set it: about 35 GETs/s for any
 * client). Built by the benchmark with the system C compiler:
 *   cc -shared -fPIC -O2 -o nodelay.so nodelay.c -ldl
 * setsockopt fails harmlessly on a socket that is not TCP. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void nodelay(int fd) {
    if (fd >= 0) {
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

int accept(int fd, struct sockaddr *addr, socklen_t *len) {
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
    int c = real(fd, addr, len);
    nodelay(c);
    return c;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (!real) real = (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
    int c = real(fd, addr, len, flags);
    nodelay(c);
    return c;
}
