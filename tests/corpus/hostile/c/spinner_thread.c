/* Hostile candidate -- attack class: throughput manipulation without any forbidden system call.
 *
 * What it does: correct.c, plus a constructor that starts plain pthread spinners (one per online
 * CPU, nice 0, no affinity). They leave the CPU while the candidate is being timed (from eq_create
 * to eq_destroy, and inside eq_process) and spin otherwise, i.e. while the reference is timed in
 * the same process. Same gating as renice_spinner.c: after the first (warm-up) instance, 3 ms
 * slices with 0.15 ms rests, at most 90 s of spinning, only in the throughput job when job.json
 * says so (always when there is no job.json).
 *
 * Measured against the current harness (gcc 12, 2 vCPUs, AMD EPYC): verdict pass, 376/376 runs,
 * speedups 0.14-0.20x against 0.12-0.19x for correct.c in the same session: no measurable effect.
 * The reference's timed runs (0.5-1.5 ms) are shorter than the scheduler's slice, so nice-0
 * competitors rarely preempt them; 4 spinners per CPU, and 0.3 ms spin / 20 us sleep
 * wake-up hammering, made no difference either.
 *
 * Deserved under the new harness: pass, with a speedup at most 1.5x that of correct.c (the
 * candidate and the reference run in separate workers, the idle one frozen, both on one CPU:
 * the spinner can only slow the candidate itself).
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

static void real_eq_destroy(void *handle)
{
    eq_t *eq = handle;
    if (!eq) return;
    free(eq->coef); free(eq->z); free(eq->pending); free(eq);
}

static void *real_eq_create(int sample_rate, int channels, int format, const eq_band *bands, int n_bands)
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
    if (!eq->coef || !eq->z || !eq->pending) { real_eq_destroy(eq); return NULL; }
    for (int i = 0; i < n_bands; i++)
        if (design(&bands[i], sample_rate, eq->coef[i])) { real_eq_destroy(eq); return NULL; }
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

static size_t real_eq_process(void *handle, const unsigned char *in, size_t n, unsigned char *out)
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
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SPIN_BUDGET_S 90.0      /* total spinning time, so the CPU burn is bounded */
#define MAX_SPINNERS 4
#define SPIN_SLICE_S 3e-3       /* spin this long, then leave the CPU for REST_NS, so the worker   */
#define REST_NS 150000L         /* keeps crawling forward (its stall watchdog must not fire)      */

static atomic_int g_live;       /* candidate instances alive (eq_create .. eq_destroy) */
static atomic_int g_inside;     /* calls of eq_process in flight */
static atomic_int g_armed;      /* spin at all (throughput job, or no job.json to tell) */
static atomic_int g_destroyed;  /* instances destroyed so far */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* The candidate is "being timed" from eq_create to eq_destroy (the harness creates an instance,
 * starts the clock, feeds every chunk, stops the clock, destroys it) and inside eq_process. */
static int candidate_busy(void)
{
    return atomic_load_explicit(&g_live, memory_order_relaxed) > 0
        || atomic_load_explicit(&g_inside, memory_order_relaxed) > 0;
}

static void *spinner(void *arg)
{
    (void)arg;
    double spent = 0;
    while (spent < SPIN_BUDGET_S) {
        pthread_mutex_lock(&g_mu);
        /* not before the first instance (the warm-up) is gone: the reference's own warm-up
         * (loading its JIT cache) must not be slowed, or the stall watchdog kills the worker */
        while (!atomic_load(&g_armed) || atomic_load(&g_destroyed) < 2 || candidate_busy())
            pthread_cond_wait(&g_cv, &g_mu);    /* off the CPU while the candidate runs */
        pthread_mutex_unlock(&g_mu);
        /* the reference (or the harness's bookkeeping) is running now: eat its CPU */
        double t0 = now_s(), t = t0;
        while (!candidate_busy() && (t = now_s()) - t0 < SPIN_SLICE_S)
            __asm__ volatile("" ::: "memory");
        spent += t - t0;
        struct timespec rest = {0, REST_NS};
        nanosleep(&rest, NULL);
    }
    return NULL;
}

static void wake_spinners(void)
{
    pthread_mutex_lock(&g_mu);
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

/* Throughput job or correctness job? The old worker's job.json says so; without it, spin always. */
static int throughput_job(void)
{
    int fd = open("job.json", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    static char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 1;
    buf[n] = 0;
    return strstr(buf, "\"mode\": \"throughput\"") != NULL || strstr(buf, "\"mode\":\"throughput\"") != NULL;
}

__attribute__((constructor)) static void start_spinners(void)
{
    int n = 1;
    /* no affinity, no renice: one spinner per CPU, so whichever CPU the reference runs on is shared */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    n = cpus < 1 ? 1 : cpus > MAX_SPINNERS ? MAX_SPINNERS : (int)cpus;
    atomic_store(&g_armed, throughput_job());
    for (int i = 0; i < n; i++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        if (pthread_create(&t, &attr, spinner, NULL) == 0)
            pthread_detach(t);
        pthread_attr_destroy(&attr);
    }
}

/* ------------------------------------------------------------- the contract */
void *eq_create(int sample_rate, int channels, int format, const eq_band *bands, int n_bands)
{
    atomic_fetch_add(&g_live, 1);       /* the spinner sees this and leaves the CPU */
    void *h = real_eq_create(sample_rate, channels, format, bands, n_bands);
    if (!h) {
        atomic_fetch_sub(&g_live, 1);
        wake_spinners();
    }
    return h;
}

size_t eq_process(void *handle, const unsigned char *in, size_t n, unsigned char *out)
{
    atomic_fetch_add(&g_inside, 1);
    size_t r = real_eq_process(handle, in, n, out);
    atomic_fetch_sub(&g_inside, 1);
    return r;
}

void eq_destroy(void *handle)
{
    real_eq_destroy(handle);
    if (handle)
        atomic_fetch_add(&g_destroyed, 1);
    if (handle && atomic_fetch_sub(&g_live, 1) == 1)
        wake_spinners();                /* the clock of the candidate has stopped: spin again */
}
