/* ATTACK A7: undeserved PASS for a candidate with no partial-frame handling, by
 * Under the rebuilt harness: fail: partial_frame_mishandled (a 128-bit seed cannot be searched; its own bug shows).
 * predicting every correctness input from the recovered seed.
 *
 * The bug: correct.c without the pending-bytes buffer: the bytes of an incomplete frame at the
 * end of a call are dropped (as tests/corpus/python/partial_frame_dropped.py). Alone it fails
 * (partial_frame_mishandled) in every chunking that splits a frame:
 * seed_predicts_every_input_control.c is exactly that, without the cheat.
 * The cheat, only in the stream worker (its first eq_create is an invalid configuration):
 * - the first case run (band-peaking/whole) shows default_rng([seed, crc32("band-peaking")])
 *   noise; the next eq_create (60 s "load" CPU allowance) searches the 2^31 seeds of
 *   evaluate.fresh_seed() as in seed_recovery_stream_worker.c (~30 s worst case here);
 * - the stream worker's order of requests is fixed (evaluate.run_plan: 22 configuration checks,
 *   then every case's chunkings in task order, then the interleaved pairs), so eq_create number k
 *   names its case and chunking; cases.build_case (public code; the task's case table is
 *   embedded below) then gives the input that run will get, whole, before its first byte;
 * - eq_create filters that predicted input whole; eq_process checks each chunk against the
 *   prediction (memcmp) and returns the output of the frames completed so far. On any mismatch it
 *   falls back to the buggy path.
 * The replay worker feeds whole inputs (the bug never shows) and the timed runs use whole frames.
 * Got: PASS, 676/676 runs, throughput 0.22x like correct.c, nothing flagged (--seed 1500000000;
 * and with a fresh seed: seed 455888605 found after 6.7 s CPU, pass 676/676). The control
 * (same bug, no cheat, same seed): fail, partial_frame_mishandled, 473/676.
 * Deserves: fail (partial_frame_mishandled).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
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
    /* BUG: the bytes of an incomplete frame are not kept (no pending buffer) */
    for (; used + fb <= n; used += fb, written += fb)
        process_frame(eq, in + used, out + written);
    return written;
}

/* numpy default_rng([seed, 7, turn]).standard_normal() first draws, and a seed search over 31 bits */
static const double WI[256] = {
0x1.f493b7815d979p-51,
0x1.14a3f2b7f2424p-53,
0x1.250af3c2c5bb4p-54,
0x1.57cb938443b61p-54,
0x1.801fce82fa70cp-54,
0x1.a230c2e4cd0bcp-54,
0x1.c004d2f3861f7p-54,
0x1.dac2f5a747274p-54,
0x1.f32482d4cd5c3p-54,
0x1.04d32278ebbadp-53,
0x1.0f5053b025d43p-53,
0x1.192a697413677p-53,
0x1.227a28f7a1af5p-53,
0x1.2b52e3863d880p-53,
0x1.33c3fc05791f5p-53,
0x1.3bd9ec1a2b12fp-53,
0x1.439ef8dff9b55p-53,
0x1.4b1bb363dfea7p-53,
0x1.52575621ad374p-53,
0x1.59580a707ce96p-53,
0x1.60231cfd97eeap-53,
0x1.66bd261a37c3dp-53,
0x1.6d2a292000570p-53,
0x1.736dad346f8a6p-53,
0x1.798ad10b32a77p-53,
0x1.7f845ad46f543p-53,
0x1.855cc53430a77p-53,
0x1.8b1649e7b769ap-53,
0x1.90b2ea94ecf98p-53,
0x1.96347822c1eeap-53,
0x1.9b9c98e38c546p-53,
0x1.a0eccdca4a72cp-53,
0x1.a62676d77cd59p-53,
0x1.ab4ad6e101630p-53,
0x1.b05b16d136c9cp-53,
0x1.b558487427a29p-53,
0x1.ba4368e529f3ap-53,
0x1.bf1d62abf8232p-53,
0x1.c3e70f9594ef3p-53,
0x1.c8a13a5323b61p-53,
0x1.cd4c9fe72268bp-53,
0x1.d1e9f0e80b748p-53,
0x1.d679d29e41f10p-53,
0x1.dafce0023b8c3p-53,
0x1.df73aa9f17653p-53,
0x1.e3debb5d2edfep-53,
0x1.e83e9337a6f00p-53,
0x1.ec93abdf982cep-53,
0x1.f0de784f06226p-53,
0x1.f51f654d8f688p-53,
0x1.f956d9e87d7aep-53,
0x1.fd8537dfa2eacp-53,
0x1.00d56e04234ecp-52,
0x1.02e40f5398f9ap-52,
0x1.04eea9e16a5fcp-52,
0x1.06f565b72a010p-52,
0x1.08f869071f40bp-52,
0x1.0af7d84bc6113p-52,
0x1.0cf3d664bcc7fp-52,
0x1.0eec84b16086bp-52,
0x1.10e20329515eep-52,
0x1.12d4707310fbep-52,
0x1.14c3e9f8e9141p-52,
0x1.16b08bfc4201ep-52,
0x1.189a71a78da34p-52,
0x1.1a81b51ee6d88p-52,
0x1.1c666f8f82acbp-52,
0x1.1e48b93e0d42ep-52,
0x1.2028a9940a09fp-52,
0x1.2206572c4c6e9p-52,
0x1.23e1d7de9c31fp-52,
0x1.25bb40ca96bfbp-52,
0x1.2792a661dd37fp-52,
0x1.29681c719d71bp-52,
0x1.2b3bb62b82edap-52,
0x1.2d0d862e1b853p-52,
0x1.2edd9e8cba98ep-52,
0x1.30ac10d6e48d7p-52,
0x1.3278ee1f4b930p-52,
0x1.3444470265ea1p-52,
0x1.360e2baca52d5p-52,
0x1.37d6abe05586ap-52,
0x1.399dd6fb2b264p-52,
0x1.3b63bbfb83d03p-52,
0x1.3d28698561de0p-52,
0x1.3eebede725a83p-52,
0x1.40ae571e09e74p-52,
0x1.426fb2da6745dp-52,
0x1.44300e83c30a4p-52,
0x1.45ef773cac75dp-52,
0x1.47adf9e66c336p-52,
0x1.496ba32488f2fp-52,
0x1.4b287f602415dp-52,
0x1.4ce49acb311dcp-52,
0x1.4ea001638a605p-52,
0x1.505abef5e5562p-52,
0x1.5214df20a8b5ap-52,
0x1.53ce6d56a664fp-52,
0x1.558774e1bb2c8p-52,
0x1.574000e555f78p-52,
0x1.58f81c60e8514p-52,
0x1.5aafd23241b59p-52,
0x1.5c672d17d733dp-52,
0x1.5e1e37b2f8cd3p-52,
0x1.5fd4fc89f5e38p-52,
0x1.618b860a31fc3p-52,
0x1.6341de8a2b0a2p-52,
0x1.64f8104b7260bp-52,
0x1.66ae257c99672p-52,
0x1.6864283b13137p-52,
0x1.6a1a22950b2b1p-52,
0x1.6bd01e8b343bbp-52,
0x1.6d8626128d352p-52,
0x1.6f3c43161f854p-52,
0x1.70f27f78b68ebp-52,
0x1.72a8e516914c6p-52,
0x1.745f7dc70eedcp-52,
0x1.7616535e5731fp-52,
0x1.77cd6faeff449p-52,
0x1.7984dc8babd93p-52,
0x1.7b3ca3c8b1409p-52,
0x1.7cf4cf3db22fbp-52,
0x1.7ead68c73dee7p-52,
0x1.80667a486ea1fp-52,
0x1.82200dac88676p-52,
0x1.83da2ce899f15p-52,
0x1.8594e1fd1f5bdp-52,
0x1.875036f7a7ec5p-52,
0x1.890c35f47f72dp-52,
0x1.8ac8e9205c043p-52,
0x1.8c865aba10c9cp-52,
0x1.8e44951446a27p-52,
0x1.9003a2973b58fp-52,
0x1.91c38dc288347p-52,
0x1.9384612ef0afcp-52,
0x1.954627903a28ap-52,
0x1.9708ebb70d5eep-52,
0x1.98ccb892e2a31p-52,
0x1.9a919933f99bfp-52,
0x1.9c5798cd5d92cp-52,
0x1.9e1ec2b6f7411p-52,
0x1.9fe7226fad24ap-52,
0x1.a1b0c39f93692p-52,
0x1.a37bb21a2c85bp-52,
0x1.a547f9e0bbb88p-52,
0x1.a715a724aa9a4p-52,
0x1.a8e4c64a0313dp-52,
0x1.aab563e9ff108p-52,
0x1.ac878cd5af5cep-52,
0x1.ae5b4e18bb336p-52,
0x1.b030b4fc3a11ap-52,
0x1.b207cf09a985bp-52,
0x1.b3e0aa0e00c00p-52,
0x1.b5bb541ce3d03p-52,
0x1.b797db93f8927p-52,
0x1.b9764f1e5f73cp-52,
0x1.bb56bdb85256ep-52,
0x1.bd3936b2ec0a2p-52,
0x1.bf1dc9b81ae83p-52,
0x1.c10486cec16a0p-52,
0x1.c2ed7e5f07a2dp-52,
0x1.c4d8c136e0d1cp-52,
0x1.c6c6608ec8705p-52,
0x1.c8b66e0eba617p-52,
0x1.caa8fbd36a2abp-52,
0x1.cc9e1c73bd690p-52,
0x1.ce95e3068e037p-52,
0x1.d0906328b8f6ep-52,
0x1.d28db1037ef20p-52,
0x1.d48de1533c647p-52,
0x1.d691096e7f123p-52,
0x1.d8973f4d7fba5p-52,
0x1.daa0999206e70p-52,
0x1.dcad2f8fc490ep-52,
0x1.debd195522e37p-52,
0x1.e0d06fb49d21cp-52,
0x1.e2e74c4ea46f6p-52,
0x1.e501c99c1d188p-52,
0x1.e72002f97fe25p-52,
0x1.e94214b2abf0ap-52,
0x1.eb681c0f76f08p-52,
0x1.ed9237610a73ap-52,
0x1.efc086101eca9p-52,
0x1.f1f328ac25321p-52,
0x1.f42a40fb74d6dp-52,
0x1.f665f20c90168p-52,
0x1.f8a6604899782p-52,
0x1.faebb187122bfp-52,
0x1.fd360d22fe785p-52,
0x1.ff859c118f60bp-52,
0x1.00ed447d3a075p-51,
0x1.021a8028fc947p-51,
0x1.034a983a902abp-51,
0x1.047da4e3ef5c7p-51,
0x1.05b3bf6adb37ep-51,
0x1.06ed023a72668p-51,
0x1.082988f632e17p-51,
0x1.0969708e8a254p-51,
0x1.0aacd7571c0c4p-51,
0x1.0bf3dd1eed448p-51,
0x1.0d3ea34aa3d30p-51,
0x1.0e8d4cf116593p-51,
0x1.0fdffefa69fb6p-51,
0x1.1136e04207041p-51,
0x1.129219bbb5d35p-51,
0x1.13f1d69c4096dp-51,
0x1.1556448602e3bp-51,
0x1.16bf93b9deef3p-51,
0x1.182df74d21261p-51,
0x1.19a1a564eebacp-51,
0x1.1b1ad777f2f8ep-51,
0x1.1c99ca971a694p-51,
0x1.1e1ebfbe4ae39p-51,
0x1.1fa9fc2e2d901p-51,
0x1.213bc9d04cc81p-51,
0x1.22d477a6fd3eep-51,
0x1.24745a4ac9c24p-51,
0x1.261bcc77658e0p-51,
0x1.27cb2faa8592ep-51,
0x1.2982ecd770e78p-51,
0x1.2b437532a0a52p-51,
0x1.2d0d43196db97p-51,
0x1.2ee0db1a978f5p-51,
0x1.30becd256aeeep-51,
0x1.32a7b5e68a4a3p-51,
0x1.349c405ae12a3p-51,
0x1.369d27a33a840p-51,
0x1.38ab39256410ap-51,
0x1.3ac7570ae88fap-51,
0x1.3cf27b31704a6p-51,
0x1.3f2dbaa60f475p-51,
0x1.417a49cb9e5dap-51,
0x1.43d9815545e94p-51,
0x1.464ce44a73a15p-51,
0x1.48d62759c43bcp-51,
0x1.4b7739d6b5a27p-51,
0x1.4e3250dcd8902p-51,
0x1.5109f53e9ac41p-51,
0x1.54011523a7e42p-51,
0x1.571b1a94ae41bp-51,
0x1.5a5c08b718dd9p-51,
0x1.5dc8a243ad0fep-51,
0x1.61669cf861e4cp-51,
0x1.653ce7b006aeap-51,
0x1.69540be9fe5c3p-51,
0x1.6db6b8d09e232p-51,
0x1.72728f05f7a34p-51,
0x1.7799556090673p-51,
0x1.7d42df4d6ce8cp-51,
0x1.839030529f234p-51,
0x1.8ab0fbfaa7c14p-51,
0x1.92ee0946f4496p-51,
0x1.9cbee014057abp-51,
0x1.a8fdc7894775ap-51,
0x1.b981f3878fdb1p-51,
0x1.d3bb48209ad33p-51};

typedef unsigned __int128 u128;
typedef uint32_t v16 __attribute__((vector_size(64)));
#define INIT_A 0x43b0d7e5u
#define MULT_A 0x931e8875u
#define INIT_B 0x8b51f9ddu
#define MULT_B 0x58f38dedu
#define MIX_L 0xca01f9ddu
#define MIX_R 0x4973f715u
static uint32_t HA[17], HB[9];
static uint32_t E1 = 7; static double SCALE = 0.25;
static void bf_init(void)
{
    HA[0] = INIT_A; for (int i = 1; i < 17; i++) HA[i] = HA[i - 1] * MULT_A;
    HB[0] = INIT_B; for (int i = 1; i < 9; i++) HB[i] = HB[i - 1] * MULT_B;
}
#define PCG_MULT (((u128)2549297995355413924ULL << 64) | 4865540595714422341ULL)
static inline uint64_t pcg_out(u128 st)
{
    uint64_t v = (uint64_t)(st >> 64) ^ (uint64_t)st;
    unsigned rot = (unsigned)(st >> 122);
    return (v >> rot) | (v << ((64 - rot) & 63));
}
/* the 8 state words for seeds s..s+15 */
__attribute__((target("avx512f")))
static void ss_words16(uint32_t s0, uint32_t turn, uint32_t out[8][16])
{
    v16 seed;
    for (int i = 0; i < 16; i++) seed[i] = s0 + i;
#define HM(v, k) ({ v16 _t = (v) ^ HA[k]; _t *= HA[(k) + 1]; _t ^= _t >> 16; _t; })
#define MIX(x, y) ({ v16 _r = MIX_L * (x) - MIX_R * (y); _r ^= _r >> 16; _r; })
    v16 zero = {0};
    v16 p0 = HM(seed, 0), p1 = HM(zero + E1, 1), p2 = HM(zero + turn, 2), p3 = HM(zero, 3);
    v16 *p[4] = {&p0, &p1, &p2, &p3};
    int k = 4;
    for (int s = 0; s < 4; s++)
        for (int d = 0; d < 4; d++)
            if (s != d) { v16 h = HM(*p[s], k); *p[d] = MIX(*p[d], h); k++; }
    for (int i = 0; i < 8; i++) {
        v16 v = *p[i % 4] ^ HB[i]; v *= HB[i + 1]; v ^= v >> 16;
        for (int j = 0; j < 16; j++) out[i][j] = v[j];
    }
}
typedef struct { u128 state, inc; } pcg;
static inline void pcg_from_words(const uint32_t w[8], pcg *g)
{
    uint64_t u[4];
    for (int i = 0; i < 4; i++) u[i] = (uint64_t)w[2 * i] | (uint64_t)w[2 * i + 1] << 32;
    u128 initstate = ((u128)u[0] << 64) | u[1], initseq = ((u128)u[2] << 64) | u[3];
    g->inc = (initseq << 1) | 1;
    g->state = g->inc + initstate;
    g->state = g->state * PCG_MULT + g->inc;
}
static inline uint64_t pcg_next(pcg *g) { g->state = g->state * PCG_MULT + g->inc; return pcg_out(g->state); }
/* the stored s16 value of 0.25 * a normal draw, or 99999 when the draw is not on the fast path */
static inline int draw_s16(uint64_t r)
{
    int idx = r & 0xff; r >>= 8;
    int sign = r & 1; uint64_t rabs = (r >> 1) & 0x000fffffffffffffULL;
    double x = (double)rabs * WI[idx];
    if (idx == 0) return 99999;
    if (sign) x = -x;
    x *= SCALE; if (x > 1) x = 1; if (x < -1) x = -1;
    return (int)rint(x * 32768.0 > 32767 ? 32767 : x * 32768.0);
}
/* search seeds [*next, end) for the observed first samples; returns a seed or -1; *next advances */
static long long bf_search(const int16_t *obs, int n_obs, uint32_t turn, uint32_t *next, uint32_t end, double budget_s)
{
    static uint32_t w[8][16];
    struct timespec t0, t1; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    while (*next < end) {
        uint32_t s0 = *next;
        ss_words16(s0, turn, w);
        for (int j = 0; j < 16; j++) {
            uint32_t ws[8]; for (int i = 0; i < 8; i++) ws[i] = w[i][j];
            pcg g; pcg_from_words(ws, &g);
            int v = draw_s16(pcg_next(&g));
            if (v != obs[0] && v != 99999) continue;
            int ok = 1;
            for (int k = 1; k < n_obs && ok; k++) { int u = draw_s16(pcg_next(&g)); if (u != obs[k] && u != 99999) ok = 0; }
            if (ok && v == obs[0]) { *next = s0 + 16; return (long long)(s0 + j); }
        }
        *next = s0 + 16;
        if ((s0 & 0xfffff) == 0) {
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
            if ((t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec) > budget_s) return -1;
        }
    }
    return -1;
}

typedef uint64_t v8q __attribute__((vector_size(64)));
#define ML 4865540595714422341ULL
#define MH 2549297995355413924ULL
__attribute__((target("avx512f,avx512dq")))
static inline v8q mulhi64(v8q a, v8q b)
{
    const v8q m = {0xffffffffULL,0xffffffffULL,0xffffffffULL,0xffffffffULL,0xffffffffULL,0xffffffffULL,0xffffffffULL,0xffffffffULL};
    v8q a0 = a & m, a1 = a >> 32, b0 = b & m, b1 = b >> 32;
    v8q p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    v8q mid = (p00 >> 32) + (p01 & m) + (p10 & m);
    return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}
/* (h, l) = (h, l) * M + (ih, il) mod 2^128 */
__attribute__((target("avx512f,avx512dq")))
static inline void step8(v8q *h, v8q *l, v8q ih, v8q il)
{
    v8q ml = {ML,ML,ML,ML,ML,ML,ML,ML};
    v8q lo = *l * ml;
    v8q hi = mulhi64(*l, ml) + *l * MH + *h * ML;
    v8q nl = lo + il;
    v8q carry = (v8q)(nl < lo) & 1;
    *h = hi + ih + carry; *l = nl;
}
__attribute__((target("avx512f,avx512dq")))
static void first_raw16(uint32_t s0, uint32_t turn, uint64_t raw[16], uint64_t st[16][4])
{
    static uint32_t w[8][16];
    ss_words16(s0, turn, w);
    for (int half = 0; half < 2; half++) {
        v8q u[4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 8; j++)
                u[i][j] = (uint64_t)w[2 * i][half * 8 + j] | (uint64_t)w[2 * i + 1][half * 8 + j] << 32;
        /* inc = (initseq << 1) | 1, initseq = (u2, u3); state = inc + initstate, initstate = (u0, u1) */
        v8q il = (u[3] << 1) | 1, ih = (u[2] << 1) | (u[3] >> 63);
        v8q l = il + u[1];
        v8q c = (v8q)(l < il) & 1;
        v8q h = ih + u[0] + c;
        step8(&h, &l, ih, il);
        step8(&h, &l, ih, il);
        v8q v = h ^ l, rot = h >> 58;
        v8q r = (v >> rot) | (v << ((64 - rot) & 63));
        for (int j = 0; j < 8; j++) {
            raw[half * 8 + j] = r[j];
            st[half * 8 + j][0] = h[j]; st[half * 8 + j][1] = l[j]; st[half * 8 + j][2] = ih[j]; st[half * 8 + j][3] = il[j];
        }
    }
}
static long long bf_search2(const int16_t *obs, int n_obs, uint32_t turn, uint32_t *next, uint32_t end, double budget_s)
{
    uint64_t raw[16], st[16][4];
    struct timespec t0, t1; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    while (*next < end) {
        uint32_t s0 = *next;
        first_raw16(s0, turn, raw, st);
        for (int j = 0; j < 16; j++) {
            int v = draw_s16(raw[j]);
            if (v != obs[0]) continue;
            pcg g; g.state = ((u128)st[j][0] << 64) | st[j][1]; g.inc = ((u128)st[j][2] << 64) | st[j][3];
            int ok = 1;
            for (int k = 1; k < n_obs && ok; k++) { int u = draw_s16(pcg_next(&g)); if (u != obs[k] && u != 99999) ok = 0; }
            if (ok) { *next = s0 + 16; return (long long)(s0 + j); }
        }
        *next = s0 + 16;
        if ((s0 & 0xfffff) == 0) {
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
            if ((t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec) > budget_s) return -1;
        }
    }
    return -1;
}

typedef uint32_t v8d __attribute__((vector_size(32)));
static uint64_t RLO[256], RHI[256];
static int OBS_SIGN;
static void bf_prepare(int obs0)
{
    int a = obs0 < 0 ? -obs0 : obs0;
    OBS_SIGN = obs0 < 0;
    for (int i = 0; i < 256; i++) {
        double w = WI[i] * SCALE * 32768.0;
        double lo = (a - 0.5) / w, hi = (a + 0.5) / w;
        RLO[i] = lo <= 1 ? 0 : (uint64_t)(lo * (1 - 1e-12)); RHI[i] = (uint64_t)(hi * (1 + 1e-12)) + 1;
    }
}
__attribute__((target("avx512f,avx512dq")))
static long long bf_search3(const int16_t *obs, int n_obs, uint32_t turn, uint32_t *next, uint32_t end, double budget_s)
{
    struct timespec t0, t1; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    while (*next < end) {
        uint32_t s0 = *next;
        v16 seed;
        for (int i = 0; i < 16; i++) seed[i] = s0 + i;
        v16 zero = {0};
        v16 p0 = HM(seed, 0), p1 = HM(zero + E1, 1), p2 = HM(zero + turn, 2), p3 = HM(zero, 3);
        v16 *p[4] = {&p0, &p1, &p2, &p3};
        int k = 4;
        for (int s = 0; s < 4; s++)
            for (int d = 0; d < 4; d++)
                if (s != d) { v16 h = HM(*p[s], k); *p[d] = MIX(*p[d], h); k++; }
        v16 w[8];
        for (int i = 0; i < 8; i++) { v16 v = *p[i % 4] ^ HB[i]; v *= HB[i + 1]; v ^= v >> 16; w[i] = v; }
        for (int half = 0; half < 2; half++) {
            v8q u[4];
            for (int i = 0; i < 4; i++) {
                v8d a = half ? __builtin_shufflevector(w[2*i], w[2*i], 8,9,10,11,12,13,14,15)
                             : __builtin_shufflevector(w[2*i], w[2*i], 0,1,2,3,4,5,6,7);
                v8d b = half ? __builtin_shufflevector(w[2*i+1], w[2*i+1], 8,9,10,11,12,13,14,15)
                             : __builtin_shufflevector(w[2*i+1], w[2*i+1], 0,1,2,3,4,5,6,7);
                u[i] = __builtin_convertvector(a, v8q) | (__builtin_convertvector(b, v8q) << 32);
            }
            v8q il = (u[3] << 1) | 1, ih = (u[2] << 1) | (u[3] >> 63);
            v8q l = il + u[1];
            v8q c = (v8q)(l < il) & 1;
            v8q h = ih + u[0] + c;
            step8(&h, &l, ih, il);
            step8(&h, &l, ih, il);
            v8q v = h ^ l, rot = h >> 58;
            v8q r = (v >> rot) | (v << ((64 - rot) & 63));
            for (int j = 0; j < 8; j++) {
                uint64_t rr = r[j];
                int idx = rr & 0xff;
                if ((int)((rr >> 8) & 1) != OBS_SIGN) continue;
                uint64_t rabs = (rr >> 9) & 0x000fffffffffffffULL;
                if (rabs < RLO[idx] || rabs > RHI[idx]) continue;
                if (draw_s16(rr) != obs[0]) continue;
                pcg g; g.state = ((u128)h[j] << 64) | l[j]; g.inc = ((u128)ih[j] << 64) | il[j];
                int ok = 1;
                for (int kk = 1; kk < n_obs && ok; kk++) { int uu = draw_s16(pcg_next(&g)); if (uu != obs[kk] && uu != 99999) ok = 0; }
                if (ok) { *next = s0 + 16; return (long long)(s0 + half * 8 + j); }
            }
        }
        *next = s0 + 16;
        if ((s0 & 0xfffff) == 0) {
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
            if ((t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec) > budget_s) return -1;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------- the worker's interpreter */
typedef struct _object PyObject;
typedef int PyGILState_STATE;
extern PyGILState_STATE PyGILState_Ensure(void);
extern void PyGILState_Release(PyGILState_STATE);
extern int PyRun_SimpleString(const char *);
extern PyObject *PyImport_AddModule(const char *);
extern PyObject *PyModule_GetDict(PyObject *);
extern PyObject *PyRun_String(const char *, int, PyObject *, PyObject *);
extern char *PyBytes_AsString(PyObject *);
extern ssize_t PyBytes_Size(PyObject *);
extern void Py_DecRef(PyObject *);
extern void PyErr_Clear(void);

static const char *GEN =
"import sys, numpy as _np\n"
"def _cand_gen(seed, turn, frames, ch=2):\n"
"    x = _np.clip(_np.random.default_rng([seed, 7, turn]).standard_normal((frames, ch)) * 0.25, -1, 1)\n"
"    return _np.clip(_np.rint(x * 32768), -32768, 32767).astype('<i2').tobytes()\n"
"sys.modules['__main__']._cand_gen = _cand_gen\n";
static int gen_ready;

/* the s16 stereo input of turn `turn` for `seed`, `frames` long, into a malloc'd buffer */
static unsigned char *gen_input(long long seed, int turn, size_t frames)
{
    char expr[128];
    unsigned char *out = NULL;
    PyGILState_STATE g = PyGILState_Ensure();
    if (!gen_ready) { PyRun_SimpleString(GEN); gen_ready = 1; }
    PyObject *d = PyModule_GetDict(PyImport_AddModule("__main__"));
    snprintf(expr, sizeof expr, "_cand_gen(%lld, %d, %zu)", seed, turn, frames);
    PyObject *b = PyRun_String(expr, 258 /* Py_eval_input */, d, d);
    if (b) {
        size_t n = (size_t)PyBytes_Size(b);
        out = malloc(n ? n : 1);
        if (out) memcpy(out, PyBytes_AsString(b), n);
        Py_DecRef(b);
    } else PyErr_Clear();
    PyGILState_Release(g);
    return out;
}

/* ---------------------------------------------------------------- prediction */
static const char *PRED =
"import sys, json, math, zlib, numpy as np\n"
"T = json.loads('{\"cases\":[{\"id\":\"band-peaking\",\"sample_rate\":48000,\"channels\":1,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":2048},{\"id\":\"band-peaking-f32\",\"sample_rate\":44100,\"channels\":1,\"format\":\"f32le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":1536},{\"id\":\"band-lowshelf\",\"sample_rate\":48000,\"channels\":1,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":2048},{\"id\":\"band-lowshelf-f32\",\"sample_rate\":44100,\"channels\":1,\"format\":\"f32le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":1536},{\"id\":\"band-highshelf\",\"sample_rate\":48000,\"channels\":1,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":2048},{\"id\":\"band-highshelf-f32\",\"sample_rate\":44100,\"channels\":1,\"format\":\"f32le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":1536},{\"id\":\"band-lowpass\",\"sample_rate\":48000,\"channels\":1,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":2048},{\"id\":\"band-lowpass-f32\",\"sample_rate\":44100,\"channels\":1,\"format\":\"f32le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":1536},{\"id\":\"band-highpass\",\"sample_rate\":48000,\"channels\":1,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":2048},{\"id\":\"band-highpass-f32\",\"sample_rate\":44100,\"channels\":1,\"format\":\"f32le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":1536},{\"id\":\"band-bandpass\",\"sample_rate\":48000,\"channels\":1,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":2048},{\"id\":\"band-bandpass-f32\",\"sample_rate\":44100,\"channels\":1,\"format\":\"f32le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":1536},{\"id\":\"band-notch\",\"sample_rate\":48000,\"channels\":1,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":2048},{\"id\":\"band-notch-f32\",\"sample_rate\":44100,\"channels\":1,\"format\":\"f32le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":1536},{\"id\":\"band-allpass\",\"sample_rate\":48000,\"channels\":1,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":2048},{\"id\":\"band-allpass-f32\",\"sample_rate\":44100,\"channels\":1,\"format\":\"f32le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":1536},{\"id\":\"fmt-u8-1ch\",\"sample_rate\":44100,\"channels\":1,\"format\":\"u8\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":1024},{\"id\":\"fmt-s16le-1ch\",\"sample_rate\":44100,\"channels\":1,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":1024},{\"id\":\"fmt-s24le-1ch\",\"sample_rate\":44100,\"channels\":1,\"format\":\"s24le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":1024},{\"id\":\"fmt-s32le-1ch\",\"sample_rate\":44100,\"channels\":1,\"format\":\"s32le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":1024},{\"id\":\"fmt-f32le-1ch\",\"sample_rate\":44100,\"channels\":1,\"format\":\"f32le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":1024},{\"id\":\"fmt-u8-2ch\",\"sample_rate\":44100,\"channels\":2,\"format\":\"u8\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":1024},{\"id\":\"fmt-s16le-2ch\",\"sample_rate\":44100,\"channels\":2,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":1024},{\"id\":\"fmt-s24le-2ch\",\"sample_rate\":44100,\"channels\":2,\"format\":\"s24le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":1024},{\"id\":\"fmt-s32le-2ch\",\"sample_rate\":44100,\"channels\":2,\"format\":\"s32le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":1024},{\"id\":\"fmt-f32le-2ch\",\"sample_rate\":44100,\"channels\":2,\"format\":\"f32le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":1024},{\"id\":\"ch-1\",\"sample_rate\":48000,\"channels\":1,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":1024},{\"id\":\"ch-2\",\"sample_rate\":48000,\"channels\":2,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":1024},{\"id\":\"ch-6\",\"sample_rate\":48000,\"channels\":6,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":1024},{\"id\":\"ch-2-silent-right\",\"sample_rate\":48000,\"channels\":2,\"format\":\"s24le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14,\"silent_channels\":[1]},\"frames\":1024},{\"id\":\"rate-8000-s16le\",\"sample_rate\":8000,\"channels\":1,\"format\":\"s16le\",\"signal\":{\"kind\":\"sines\",\"level_dbfs\":-10},\"frames\":1024},{\"id\":\"rate-22050-u8\",\"sample_rate\":22050,\"channels\":2,\"format\":\"u8\",\"signal\":{\"kind\":\"sines\",\"level_dbfs\":-10},\"frames\":1024},{\"id\":\"rate-96000-s24le\",\"sample_rate\":96000,\"channels\":2,\"format\":\"s24le\",\"signal\":{\"kind\":\"sines\",\"level_dbfs\":-10},\"frames\":1024},{\"id\":\"rate-192000-s32le\",\"sample_rate\":192000,\"channels\":1,\"format\":\"s32le\",\"signal\":{\"kind\":\"sines\",\"level_dbfs\":-10},\"frames\":1024},{\"id\":\"rate-192000-f32le\",\"sample_rate\":192000,\"channels\":2,\"format\":\"f32le\",\"signal\":{\"kind\":\"sines\",\"level_dbfs\":-10},\"frames\":1024},{\"id\":\"loud-u8\",\"sample_rate\":48000,\"channels\":1,\"format\":\"u8\",\"signal\":{\"kind\":\"loud\",\"level_dbfs\":-3},\"frames\":1024},{\"id\":\"loud-s16le\",\"sample_rate\":48000,\"channels\":2,\"format\":\"s16le\",\"signal\":{\"kind\":\"loud\",\"level_dbfs\":-3},\"frames\":1024},{\"id\":\"loud-s24le\",\"sample_rate\":48000,\"channels\":1,\"format\":\"s24le\",\"signal\":{\"kind\":\"loud\",\"level_dbfs\":-3},\"frames\":1024},{\"id\":\"loud-s32le\",\"sample_rate\":48000,\"channels\":2,\"format\":\"s32le\",\"signal\":{\"kind\":\"loud\",\"level_dbfs\":-3},\"frames\":1024},{\"id\":\"loud-f32le\",\"sample_rate\":48000,\"channels\":1,\"format\":\"f32le\",\"signal\":{\"kind\":\"loud\",\"level_dbfs\":-3},\"frames\":1024},{\"id\":\"lowfreq-hp-192k-s32\",\"sample_rate\":192000,\"channels\":1,\"format\":\"s32le\",\"signal\":{\"kind\":\"lowfreq\",\"level_dbfs\":-8,\"freq_hz\":3.0},\"frames\":16384},{\"id\":\"lowfreq-peak-192k-s24\",\"sample_rate\":192000,\"channels\":1,\"format\":\"s24le\",\"signal\":{\"kind\":\"lowfreq\",\"level_dbfs\":-12,\"freq_hz\":20.0},\"frames\":16384},{\"id\":\"lowfreq-shelf-96k-f32\",\"sample_rate\":96000,\"channels\":2,\"format\":\"f32le\",\"signal\":{\"kind\":\"lowfreq\",\"level_dbfs\":-10,\"freq_hz\":10.0},\"frames\":8192},{\"id\":\"lowfreq-lp-192k-s16\",\"sample_rate\":192000,\"channels\":1,\"format\":\"s16le\",\"signal\":{\"kind\":\"lowfreq\",\"level_dbfs\":-6,\"freq_hz\":15.0},\"frames\":8192},{\"id\":\"cascade-benchmark-5band\",\"sample_rate\":48000,\"channels\":2,\"format\":\"s16le\",\"signal\":{\"kind\":\"sines\",\"level_dbfs\":-12},\"frames\":2048},{\"id\":\"cascade-all-types-6ch\",\"sample_rate\":96000,\"channels\":6,\"format\":\"s24le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-14},\"frames\":768},{\"id\":\"cascade-s32-6ch\",\"sample_rate\":44100,\"channels\":6,\"format\":\"s32le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-10},\"frames\":512},{\"id\":\"long-stereo-s16\",\"sample_rate\":48000,\"channels\":2,\"format\":\"s16le\",\"signal\":{\"kind\":\"noise\",\"level_dbfs\":-12},\"frames\":65536,\"chunkings\":[\"whole\",\"bytes-7\",\"random\"]}],\"chunkings\":[{\"name\":\"whole\",\"kind\":\"whole\"},{\"name\":\"bytes-1\",\"kind\":\"fixed_bytes\"},{\"name\":\"bytes-3\",\"kind\":\"fixed_bytes\"},{\"name\":\"bytes-7\",\"kind\":\"fixed_bytes\"},{\"name\":\"frames-17\",\"kind\":\"fixed_frames\"},{\"name\":\"samples-misaligned\",\"kind\":\"samples_misaligned\"},{\"name\":\"random\",\"kind\":\"random_bytes\"},{\"name\":\"interleaved\",\"kind\":\"random_bytes\",\"interleaved\":true}],\"pairs\":[[\"ch-2\",\"band-peaking-f32\"],[\"fmt-s24le-2ch\",\"rate-8000-s16le\"],[\"cascade-all-types-6ch\",\"loud-s16le\"]],\"formats\":{\"u8\":{\"code\":0,\"bytes\":1,\"kind\":\"uint\",\"scale\":128.0,\"offset\":128,\"min\":0,\"max\":255},\"s16le\":{\"code\":1,\"bytes\":2,\"kind\":\"int\",\"scale\":32768.0,\"offset\":0,\"min\":-32768,\"max\":32767},\"s24le\":{\"code\":2,\"bytes\":3,\"kind\":\"int\",\"scale\":8388608.0,\"offset\":0,\"min\":-8388608,\"max\":8388607},\"s32le\":{\"code\":3,\"bytes\":4,\"kind\":\"int\",\"scale\":2147483648.0,\"offset\":0,\"min\":-2147483648,\"max\":2147483647},\"f32le\":{\"code\":4,\"bytes\":4,\"kind\":\"float\",\"scale\":1.0,\"offset\":0}},\"n_configs\":22}')\n"
"def _rng(seed, *names): return np.random.default_rng([int(seed)] + [zlib.crc32(n.encode()) for n in names])\n"
"def _signal(kind, frames, channels, sr, rng):\n"
"    level = 10.0 ** (kind.get('level_dbfs', -12.0) / 20.0)\n"
"    t = np.arange(frames) / sr\n"
"    x = np.zeros((frames, channels))\n"
"    for ch in range(channels):\n"
"        ch_level = level * (1.0 - 0.08 * ch)\n"
"        name = kind['kind']\n"
"        if name == 'noise':\n"
"            sig = rng.standard_normal(frames) * ch_level\n"
"        elif name == 'sines':\n"
"            freqs = rng.uniform(40.0, 0.4 * sr, size=3)\n"
"            phases = rng.uniform(0, 2 * math.pi, size=3)\n"
"            sig = sum(np.sin(2 * math.pi * f * t + p) for f, p in zip(freqs, phases)) * ch_level / 2\n"
"            sig = sig + rng.standard_normal(frames) * ch_level * 0.05\n"
"        elif name == 'loud':\n"
"            sig = rng.standard_normal(frames) * ch_level\n"
"            sig[: frames // 4] *= 0.05\n"
"        else:\n"
"            f = kind.get('freq_hz', 5.0) * (1.0 + 0.1 * ch)\n"
"            sig = np.sin(2 * math.pi * f * t + rng.uniform(0, 2 * math.pi)) * ch_level\n"
"            sig = sig + rng.standard_normal(frames) * ch_level * 0.1\n"
"        x[:, ch] = sig\n"
"    for ch in kind.get('silent_channels', []):\n"
"        x[:, ch] = 0.0\n"
"    return np.clip(x, -1.0, 1.0 - 1e-9)\n"
"def _encode(x, spec):\n"
"    if spec['kind'] == 'float': return np.asarray(x, dtype='<f4').tobytes()\n"
"    lo = spec['min'] - spec.get('offset', 0); hi = spec['max'] - spec.get('offset', 0)\n"
"    v = np.clip(np.rint(np.asarray(x) * spec['scale']), lo, hi).astype(np.int64)\n"
"    w = spec['bytes']; v = v.ravel() + int(spec.get('offset', 0)); v = v & ((1 << (8 * w)) - 1)\n"
"    out = np.empty((v.size, w), dtype=np.uint8)\n"
"    for i in range(w): out[:, i] = (v >> (8 * i)) & 0xFF\n"
"    return out.tobytes()\n"
"cases = {c['id']: c for c in T['cases']}\n"
"kinds = {r['name']: r for r in T['chunkings']}\n"
"paired = {cid for p in T['pairs'] for cid in p}\n"
"plan = []; names_of = {}\n"
"for c in T['cases']:\n"
"    only = c.get('chunkings'); names = []\n"
"    for r in T['chunkings']:\n"
"        if only is not None and r['name'] not in only and r['kind'] != 'whole': continue\n"
"        if r.get('interleaved') and c['id'] not in paired: continue\n"
"        names.append(r['name'])\n"
"    names_of[c['id']] = names\n"
"    plan += [(c['id'], n) for n in names if n != 'interleaved']\n"
"for a, b in T['pairs']:\n"
"    if 'interleaved' in names_of.get(a, []) and 'interleaved' in names_of.get(b, []):\n"
"        plan += [(a, 'interleaved'), (b, 'interleaved')]\n"
"def _cand_predict(seed, k):\n"
"    if not 0 <= k < len(plan): return b''\n"
"    cid, name = plan[k]; c = cases[cid]\n"
"    rng = _rng(seed, cid) if kinds[name]['kind'] == 'whole' else _rng(seed, cid, 'input', name)\n"
"    x = _signal(c['signal'], c['frames'], c['channels'], c['sample_rate'], rng)\n"
"    return _encode(x, T['formats'][c['format']])\n"
"sys.modules['__main__']._cand_predict = _cand_predict\n";

static const char *VER =
"import sys, numpy as _np\n"
"def _cand_first(seed, crc, n):\n"
"    x = _np.clip(_np.random.default_rng([seed, crc]).standard_normal(n) * 10 ** (-12 / 20), -1, 1 - 1e-9)\n"
"    return _np.clip(_np.rint(x * 32768), -32768, 32767).astype('<i2').tobytes()\n"
"sys.modules['__main__']._cand_first = _cand_first\n";

static int16_t obs[8]; static int have_obs;
static uint32_t next_seed; static long long seed = -1;
static int n_create, stream_worker = -1, pred_ready;
static double search_cpu;

static PyObject *main_dict(void) { return PyModule_GetDict(PyImport_AddModule("__main__")); }

static int verify(long long s)
{
    char expr[128]; int ok = 0;
    PyGILState_STATE g = PyGILState_Ensure();
    static int ready; if (!ready) { PyRun_SimpleString(VER); ready = 1; }
    snprintf(expr, sizeof expr, "_cand_first(%lld, 297716908, 8)", s);
    PyObject *b = PyRun_String(expr, 258, main_dict(), main_dict());
    if (b) { ok = PyBytes_Size(b) == 16 && memcmp(PyBytes_AsString(b), obs, 16) == 0; Py_DecRef(b); } else PyErr_Clear();
    PyGILState_Release(g);
    return ok;
}

static unsigned char *predict(int k, size_t *len)
{
    char expr[128]; unsigned char *out = NULL; *len = 0;
    PyGILState_STATE g = PyGILState_Ensure();
    if (!pred_ready) { PyRun_SimpleString(PRED); pred_ready = 1; }
    snprintf(expr, sizeof expr, "_cand_predict(%lld, %d)", seed, k);
    PyObject *b = PyRun_String(expr, 258, main_dict(), main_dict());
    if (b) {
        *len = (size_t)PyBytes_Size(b);
        if (*len) { out = malloc(*len); if (out) memcpy(out, PyBytes_AsString(b), *len); else *len = 0; }
        Py_DecRef(b);
    } else PyErr_Clear();
    PyGILState_Release(g);
    return out;
}

typedef struct { eq_t *h; unsigned char *pin, *pout; size_t plen, pos; int off; } wrap_t;

void *eq_create(int sample_rate, int channels, int format, const eq_band *bands, int n_bands)
{
    int k = n_create++;
    eq_t *h = honest_create(sample_rate, channels, format, bands, n_bands);
    if (stream_worker < 0) stream_worker = h == NULL;   /* the stream worker starts with an invalid config */
    if (!h) return NULL;
    wrap_t *w = calloc(1, sizeof *w);
    if (!w) { honest_destroy(h); return NULL; }
    w->h = h;
    if (stream_worker == 1 && k >= 22) {
        if (have_obs && seed < 0 && next_seed < (1u << 31)) {
            E1 = 297716908u; SCALE = 0.25118864315095801;   /* crc32("band-peaking"), -12 dBFS */
            bf_init(); bf_prepare(obs[0]);
            struct timespec t0, t1; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
            while (seed < 0 && next_seed < (1u << 31)) {
                long long s = bf_search3(obs, 2, 0, &next_seed, 1u << 31, 55.0);
                if (s >= 0 && verify(s)) seed = s;
                clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
                if (t1.tv_sec - t0.tv_sec > 55) break;
            }
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
            search_cpu = (t1.tv_sec - t0.tv_sec) + 1e-9 * (t1.tv_nsec - t0.tv_nsec);
            fprintf(stderr, "CANDIDATE: seed=%lld after %.1f s CPU\n", seed, search_cpu);
        }
        if (seed >= 0) {
            size_t len; unsigned char *in = predict(k - 22, &len);
            size_t fb = (size_t)h->frame_bytes;
            if (in && len) {
                unsigned char *out = malloc(len + 64);
                eq_t *tmp = honest_create(sample_rate, channels, format, bands, n_bands);
                if (out && tmp) {
                    honest_process(tmp, in, len / fb * fb, out);   /* whole frames, in one call */
                    w->pin = in; w->pout = out; w->plen = len;
                } else { free(in); free(out); }
                if (tmp) honest_destroy(tmp);
            } else free(in);
        }
    }
    return w;
}

size_t eq_process(void *handle, const unsigned char *in, size_t n, unsigned char *out)
{
    wrap_t *w = handle;
    size_t fb = (size_t)w->h->frame_bytes;
    if (w->h->channels == 1 && w->h->format == S16LE && w->h->n_sections == 1 && n == 4096 && !have_obs
        && stream_worker == 1) { memcpy(obs, in, 16); have_obs = 1; }
    if (w->pin && !w->off) {
        if (w->pos + n <= w->plen && memcmp(in, w->pin + w->pos, n) == 0) {
            size_t a = w->pos / fb * fb, b = (w->pos + n) / fb * fb;
            memcpy(out, w->pout + a, b - a);
            w->pos += n;
            return b - a;
        }
        w->off = 1;   /* not the predicted input: the buggy path from here on */
    }
    return honest_process(w->h, in, n, out);
}

void eq_destroy(void *handle)
{
    wrap_t *w = handle;
    if (!w) return;
    free(w->pin); free(w->pout);
    honest_destroy(w->h);
    free(w);
}
