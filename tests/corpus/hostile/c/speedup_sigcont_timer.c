/* ATTACK: undeserved speed-up by waking itself up while it is "frozen".
 * Under the rebuilt harness: fail: disallowed_import (timer_create kills the worker).
 *
 * What it does: correct.c, plus, only in the throughput job (it finds the memfd
 * "memfd:codegen_eval_in" in /proc/self/fd): 12 bursty spinner threads (150 us on, 30 us off) and a periodic POSIX timer
 * (timer_create/timer_settime, not in SECCOMP_KILL) whose signal is SIGCONT (with a no-op
 * handler, so every expiry is delivered and the timer re-arms). When eq_process has consumed the
 * whole timed input it starts the timer (from 1.5 ms on, every 0.2 ms) and, 1.5 ms later (after
 * its DONE is out), the spinners. The parent then SIGSTOPs the worker, and either Worker.freeze sees all threads in
 * state T and returns, or an expiry resumed them first and freeze gives up after its 5 s
 * deadline; either way the kernel's SIGCONT keeps resuming the candidate during the reference's
 * turn, and the spinners (at most 10 s per turn) share the one CPU the reference and the
 * parent's driving thread are pinned to. At its own next turn (eq_destroy of the previous
 * instance, the CLOSE right after the parent's thaw) timer and spinners stop. Output is correct.
 *
 * Got: pass, 664/664. PARTIAL / mostly did NOT work: the reference's timed runs did get slower
 * (isolated runs: 27-50 vs 80 Msamples/s at 64 frames, 113-142 vs 250-290 at 1024, whole 144-200
 * vs 300-350), so the candidate is demonstrably running while "frozen"; but the net speed-up
 * gained is at most ~1.6x at 64/1024 frames (0.70 / 0.39 vs 0.44 / 0.26) and negative for
 * 16384/whole (the spinners also delay the candidate's own DONE), and in the loaded CLI run it
 * was worse than correct.c everywhere. EEVDF lets a freshly woken short task (the reference's
 * sub-ms run) run ahead of the spinners. speedup_work_after_clock.c uses the same SIGCONT-timer
 * hole to much better effect.
 * Deserves: pass with correct.c's speed-up; "the idle one SIGSTOPped" does not hold, because a
 * process can send itself SIGCONT through a timer.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
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


/* ------------------------------------------------------------- the attack */
static volatile int g_done;
static volatile long long g_done_ns;
static size_t g_in_size, g_pos;
static int g_started;
static timer_t g_timer;

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void on_cont(int s, siginfo_t *info, void *ctx)
{
    (void)s; (void)info; (void)ctx;                /* delivered, so the periodic timer re-arms */
}

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;

static void *spinner(void *arg)
{
    (void)arg;
    volatile unsigned long x = 0;
    for (;;) {
        pthread_mutex_lock(&g_mu);                 /* idle: blocked, no wake-ups at all */
        while (!g_done) pthread_cond_wait(&g_cv, &g_mu);
        pthread_mutex_unlock(&g_mu);
        long long since = now_ns() - g_done_ns;
        if (since < 1500000) {                     /* let DONE go out first */
            struct timespec q = { 0, 1500000 - since };
            nanosleep(&q, NULL);
            continue;
        }
        if (since > 10000000000LL) { struct timespec q = { 0, 50000000 }; nanosleep(&q, NULL); continue; }
        long long t0 = now_ns();
        while (g_done && now_ns() - t0 < 150000) x++;   /* bursts of 150 us */
        struct timespec q = { 0, 30000 };
        nanosleep(&q, NULL);
    }
    return NULL;
}

static size_t timed_input_size(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 0;
    struct dirent *e;
    char path[64], target[256];
    size_t size = 0;
    while ((e = readdir(d))) {
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(path, target, sizeof target - 1);
        if (k <= 0) continue;
        target[k] = 0;
        struct stat st;
        if (strstr(target, "memfd:codegen_eval_in") && !fstat(atoi(e->d_name), &st)) size = st.st_size;
    }
    closedir(d);
    return size;
}

static void attack_start(void)
{
    if (g_started) return;
    g_started = 1;
    g_in_size = timed_input_size();
    if (!g_in_size) return;                       /* correctness runs: nothing at all */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_cont;
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    sigaction(SIGCONT, &sa, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGCONT;
    if (timer_create(CLOCK_MONOTONIC, &ev, &g_timer)) { g_in_size = 0; return; }
    for (int i = 0; i < 12; i++) {
        pthread_t t;
        pthread_create(&t, NULL, spinner, NULL);
        pthread_detach(t);
    }
}

static void attack_stop(void)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    g_done = 0;
    if (g_in_size) timer_settime(g_timer, 0, &its, NULL);
}

static void attack_done(void)
{
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = 1500000;              /* SIGCONT to myself from 1.5 ms on, every 0.2 ms */
    its.it_interval.tv_nsec = 200000;
    g_done_ns = now_ns();
    pthread_mutex_lock(&g_mu);
    g_done = 1;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    timer_settime(g_timer, 0, &its, NULL);
}

void eq_destroy(void *handle)
{
    attack_stop();
    eq_t *eq = handle;
    if (!eq) return;
    free(eq->coef); free(eq->z); free(eq->pending); free(eq);
}

void *eq_create(int sample_rate, int channels, int format, const eq_band *bands, int n_bands)
{
    static const int bps[] = { 1, 2, 3, 4, 4 };
    attack_start();
    attack_stop();
    g_pos = 0;
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
    g_pos += n;
    if (g_in_size && g_pos >= g_in_size) attack_done();
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
