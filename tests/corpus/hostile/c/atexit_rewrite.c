/* Hostile candidate -- attack class: forging the results the worker hands to the parent.
 *
 * What it does: state_reset_at_boundary.c (the filter state is zeroed at every eq_process call),
 * plus bookkeeping: every instance records its configuration, every input byte and the size of
 * every call. An atexit hook (registered in a constructor) runs when the worker exits, after it
 * has written out_<run>.bin and len_<run>.bin for every run and before the parent reads them. It
 * counts the out_*.bin files (R runs), maps run n to the instance (instances - R + n) (the
 * configuration checks come first, then one instance per run, in order), checks that len_n.bin
 * has one entry per recorded call, filters the recorded input again in a single call with fresh
 * state (the right whole-stream output), and rewrites out_n.bin with it and len_n.bin with the
 * cumulative complete-frame byte counts after each call (little-endian int64). It only touches
 * out_*.bin and len_*.bin in its own working directory, and only when job.json is there.
 *
 * Measured against the current harness: "381 instances, 376 runs, 376 result files forged"; the
 * verdict went from fail / state_reset_at_boundary (94/376 runs) to pass with 376/376 runs, and
 * the candidate was timed (0.17x).
 *
 * Deserved under the new harness: fail with state_reset_at_boundary (the parent gets each call's
 * output through a pipe as it happens and reads nothing the candidate can write).
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
    memset(eq->z, 0, sizeof *eq->z * (size_t)(eq->n_sections ? eq->n_sections : 1) * eq->channels * 2);
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
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    int sample_rate, channels, format, n_bands;
    eq_band *bands;
    unsigned char *in;          /* every byte this instance was given */
    size_t in_len, in_cap;
    size_t *calls;              /* the size of every eq_process call */
    size_t n_calls, calls_cap;
} record_t;

static record_t *g_recs;        /* one per instance created, in creation order */
static size_t g_nrecs, g_recs_cap;
#define MAX_LIVE 256
static struct { void *handle; size_t rec; } g_live[MAX_LIVE];
static int g_nlive;

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static record_t *record_of(void *handle)
{
    for (int i = g_nlive - 1; i >= 0; i--)
        if (g_live[i].handle == handle) return &g_recs[g_live[i].rec];
    return NULL;
}

static int write_all(const char *name, const void *data, size_t n)
{
    /* only files the worker itself wrote in its own working directory */
    int fd = open(name, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    const unsigned char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) break;
        p += w;
        n -= (size_t)w;
    }
    close(fd);
    return n ? -1 : 0;
}

/* At exit the old worker has written out_<run>.bin and len_<run>.bin for every run, and the parent
 * reads them only now. Runs are the last instances created (the configuration checks come first),
 * one instance per run, in run order: run n is record (instances - runs + n). Its whole input is
 * filtered again in one call with fresh state, and both files are replaced by the right answer. */
static void rewrite_results(void)
{
    if (access("job.json", R_OK) != 0) return;
    DIR *d = opendir(".");
    if (!d) return;
    size_t runs = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int k, end = 0;
        if (sscanf(e->d_name, "out_%d.bin%n", &k, &end) == 1 && end && e->d_name[end] == 0) runs++;
    }
    closedir(d);
    if (!runs || runs > g_nrecs) return;
    size_t first = g_nrecs - runs, forged = 0;
    for (size_t n = 0; n < runs; n++) {
        record_t *r = &g_recs[first + n];
        char out_name[64], len_name[64];
        snprintf(out_name, sizeof out_name, "out_%zu.bin", n);
        snprintf(len_name, sizeof len_name, "len_%zu.bin", n);
        struct stat st;
        if (stat(len_name, &st) != 0 || (size_t)st.st_size != 8 * r->n_calls) continue;  /* not that run */
        void *h = real_eq_create(r->sample_rate, r->channels, r->format, r->bands, r->n_bands);
        if (!h) continue;
        unsigned char *out = malloc(r->in_len + 4 * (size_t)r->channels + 64);
        int64_t *lens = malloc((r->n_calls ? r->n_calls : 1) * sizeof *lens);
        if (out && lens) {
            size_t got = r->in_len ? real_eq_process(h, r->in, r->in_len, out) : 0;
            size_t fb = ((eq_t *)h)->frame_bytes, cum = 0;
            for (size_t c = 0; c < r->n_calls; c++) {
                cum += r->calls[c];
                int64_t v = (int64_t)(cum / fb * fb);
                memcpy(&lens[c], &v, sizeof v);    /* little endian on x86-64 */
            }
            if (write_all(out_name, out, got) == 0 && write_all(len_name, lens, r->n_calls * sizeof *lens) == 0)
                forged++;
        }
        free(out);
        free(lens);
        real_eq_destroy(h);
    }
    fprintf(stderr, "[atexit_rewrite] %zu instances, %zu runs, %zu result files forged\n", g_nrecs, runs, forged);
}

__attribute__((constructor)) static void install(void)
{
    atexit(rewrite_results);
}

/* ------------------------------------------------------------- the contract */
void *eq_create(int sample_rate, int channels, int format, const eq_band *bands, int n_bands)
{
    void *h = real_eq_create(sample_rate, channels, format, bands, n_bands);
    if (!h || g_nlive >= MAX_LIVE || grow((void **)&g_recs, &g_recs_cap, g_nrecs + 1, sizeof *g_recs))
        return h;
    record_t *r = &g_recs[g_nrecs];
    memset(r, 0, sizeof *r);
    r->sample_rate = sample_rate;
    r->channels = channels;
    r->format = format;
    r->n_bands = n_bands;
    if (n_bands > 0) {
        r->bands = malloc(sizeof *r->bands * (size_t)n_bands);
        if (r->bands) memcpy(r->bands, bands, sizeof *r->bands * (size_t)n_bands);
        else r->n_bands = 0;
    }
    g_live[g_nlive].handle = h;
    g_live[g_nlive].rec = g_nrecs++;
    g_nlive++;
    return h;
}

size_t eq_process(void *handle, const unsigned char *in, size_t n, unsigned char *out)
{
    record_t *r = record_of(handle);
    if (r && !grow((void **)&r->in, &r->in_cap, r->in_len + n, 1)
          && !grow((void **)&r->calls, &r->calls_cap, r->n_calls + 1, sizeof *r->calls)) {
        if (n) memcpy(r->in + r->in_len, in, n);
        r->in_len += n;
        r->calls[r->n_calls++] = n;
    }
    return real_eq_process(handle, in, n, out);
}

void eq_destroy(void *handle)
{
    for (int i = g_nlive - 1; i >= 0; i--)
        if (g_live[i].handle == handle) {
            g_live[i] = g_live[--g_nlive];
            break;
        }
    real_eq_destroy(handle);
}
