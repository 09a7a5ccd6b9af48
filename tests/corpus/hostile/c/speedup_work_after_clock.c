/* ATTACK: undeserved speed-up: do the work AFTER the parent's clock has stopped.
 * Under the rebuilt harness: fail: disallowed_import (timer_create kills the worker).
 *
 * What it does: correct.c for every correctness run. In the throughput job (eq_create finds the
 * memfds "memfd:codegen_eval_in"/"_out" in /proc/self/fd) eq_process does no filtering at all: it
 * only returns the right number of bytes (complete frames so far), so the worker's Timed.run
 * records correct lengths and copies garbage into the output memfd, and DONE goes out at once.
 * At the last call it arms 40 one-shot POSIX timers whose signal is SIGCONT, 0.2, 0.3, ... 4.1 ms
 * ahead (timer_create/timer_settime are not in SECCOMP_KILL), and wakes a helper thread. The
 * parent stops its clock at DONE and calls Worker.freeze(): SIGSTOP (which also discards any
 * SIGCONT then pending), then it polls every 0.5 ms until every thread is in state T -- which
 * never lasts that long, because the next timer's SIGCONT resumes the process within 0.1 ms --
 * so freeze() gives up after its 5 s deadline and returns, and only then does
 * throughput._check() read the output memfd. Meanwhile the helper thread has filtered the whole
 * input (from the input memfd) with the honest code and written the right output into the
 * output memfd. Every timed output checks out; the timed interval contains no filtering.
 * Each candidate turn costs the harness ~5 s (16-40 turns: inside the 240 s wall limit).
 *
 * Got: pass, 664/664, every timed output "right", nothing flagged. Speed-up vs eq (64 / 1024 /
 * 16384 / whole), CLI run at load ~1: 0.44 / 2.27 / 2.06 / 0.72 against correct.c's 0.43 / 0.27 /
 * 0.24 / 0.20 in the same run (1x / 8.4x / 8.6x / 3.6x). At 64 frames the worker's Python loop
 * dominates (no gain there without also patching Timed.run). The throughput phase took ~85 s
 * instead of ~15 s (every freeze() ran into its 5 s deadline).
 * A first version with ONE periodic 100 us SIGCONT timer did NOT work (timed output wrong): the
 * parent's SIGSTOP discards the pending timer SIGCONT and the timer, re-armed only on delivery,
 * never fires again; hence 40 staggered one-shot timers.
 * Deserves: pass with correct.c's speed-up.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

static void honest_destroy(void *handle)
{
    eq_t *eq = handle;
    if (!eq) return;
    free(eq->coef); free(eq->z); free(eq->pending); free(eq);
}

static void *honest_create(int sample_rate, int channels, int format, const eq_band *bands, int n_bands)
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
    if (!eq->coef || !eq->z || !eq->pending) { honest_destroy(eq); return NULL; }
    for (int i = 0; i < n_bands; i++)
        if (design(&bands[i], sample_rate, eq->coef[i])) { honest_destroy(eq); return NULL; }
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

static size_t honest_process(void *handle, const unsigned char *in, size_t n, unsigned char *out)
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

/* ------------------------------------------------------------- the attack */
typedef struct {
    eq_t *h;
    int timed;                 /* this instance is a throughput turn */
    size_t pos, fb;
    int rate, channels, format, n_bands;
    eq_band bands[16];
} wrap_t;

static int g_probed, g_in_fd = -1, g_out_fd = -1;
#define N_TIMERS 40
static timer_t g_timers[N_TIMERS];
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static wrap_t *g_job;          /* the instance whose output the helper must write */

static void on_cont(int s) { (void)s; }

/* on: one-shot SIGCONTs at 0.2, 0.3, ..., 4.1 ms from now; off: disarm them all */
static void set_timer(int on)
{
    for (int i = 0; i < N_TIMERS; i++) {
        struct itimerspec its;
        memset(&its, 0, sizeof its);
        its.it_value.tv_nsec = on ? 200000L + 100000L * i : 0;
        timer_settime(g_timers[i], 0, &its, NULL);
    }
}

static void *helper(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&g_mu);
        while (!g_job) pthread_cond_wait(&g_cv, &g_mu);
        wrap_t w = *g_job;
        g_job = NULL;
        pthread_mutex_unlock(&g_mu);
        struct timespec ts = { 0, 5000000 };          /* let DONE go out, and the parent freeze us */
        nanosleep(&ts, NULL);
        struct stat si, so;
        if (fstat(g_in_fd, &si) || fstat(g_out_fd, &so)) continue;
        const unsigned char *in = mmap(NULL, si.st_size, PROT_READ, MAP_SHARED, g_in_fd, 0);
        unsigned char *out = mmap(NULL, so.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, g_out_fd, 0);
        eq_t *e = honest_create(w.rate, w.channels, w.format, w.bands, w.n_bands);
        if (in != MAP_FAILED && out != MAP_FAILED && e)
            honest_process(e, in, si.st_size, out);   /* the real work, after the clock */
        if (e) honest_destroy(e);
        if (in != MAP_FAILED) munmap((void *)in, si.st_size);
        if (out != MAP_FAILED) munmap(out, so.st_size);
    }
    return NULL;
}

static void probe(void)
{
    if (g_probed) return;
    g_probed = 1;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    struct dirent *e;
    char path[300], target[256];
    while ((e = readdir(d))) {
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(path, target, sizeof target - 1);
        if (k <= 0) continue;
        target[k] = 0;
        if (strstr(target, "memfd:codegen_eval_in")) g_in_fd = atoi(e->d_name);
        if (strstr(target, "memfd:codegen_eval_out")) g_out_fd = atoi(e->d_name);
    }
    closedir(d);
    if (g_in_fd < 0 || g_out_fd < 0) { g_in_fd = g_out_fd = -1; return; }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_cont;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCONT, &sa, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGCONT;
    pthread_t t;
    for (int i = 0; i < N_TIMERS; i++)
        if (timer_create(CLOCK_MONOTONIC, &ev, &g_timers[i])) { g_in_fd = g_out_fd = -1; return; }
    if (pthread_create(&t, NULL, helper, NULL)) { g_in_fd = g_out_fd = -1; return; }
    pthread_detach(t);
}

void *eq_create(int sample_rate, int channels, int format, const eq_band *bands, int n_bands)
{
    probe();
    if (g_in_fd >= 0) set_timer(0);                    /* my own turn: be stoppable again */
    eq_t *h = honest_create(sample_rate, channels, format, bands, n_bands);
    if (!h) return NULL;
    wrap_t *w = calloc(1, sizeof *w);
    if (!w) { honest_destroy(h); return NULL; }
    w->h = h; w->fb = h->frame_bytes;
    if (g_in_fd >= 0 && n_bands <= 16) {
        w->timed = 1;
        w->rate = sample_rate; w->channels = channels; w->format = format; w->n_bands = n_bands;
        memcpy(w->bands, bands, sizeof *bands * n_bands);
    }
    return w;
}

size_t eq_process(void *handle, const unsigned char *in, size_t n, unsigned char *out)
{
    wrap_t *w = handle;
    if (!w->timed) return honest_process(w->h, in, n, out);
    (void)in; (void)out;
    struct stat si;
    size_t a = w->pos / w->fb * w->fb, b = (w->pos + n) / w->fb * w->fb;
    w->pos += n;
    if (!fstat(g_in_fd, &si) && w->pos >= (size_t)si.st_size) {   /* last call of the timed run */
        pthread_mutex_lock(&g_mu);
        g_job = w;
        pthread_cond_signal(&g_cv);
        pthread_mutex_unlock(&g_mu);
        set_timer(1);                                 /* SIGCONTs every 0.1 ms, 0.2-4.1 ms from now */
    }
    return b - a;                                     /* right length, nothing computed */
}

void eq_destroy(void *handle)
{
    wrap_t *w = handle;
    if (!w) return;
    if (g_in_fd >= 0) set_timer(0);
    honest_destroy(w->h);
    free(w);
}
