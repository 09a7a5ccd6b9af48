/* ATTACK (config coverage): "height >= 32768" refused (off by one), so the valid height 32768 is refused; the limit is checked at 32768/32769 for the width only (valid 32768x1, invalid 32769), for the height only at 40000. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

typedef struct {
    double brightness, contrast, saturation, gamma, gamma_r, gamma_g, gamma_b, gamma_weight;
} veq_params;

typedef struct {
    unsigned char table[4][256];
    size_t end[4];      /* offset within the frame just past each plane */
    int n_planes;
    size_t pos;         /* offset within the frame of the next byte */
} veq;

static int in_range(double v, double lo, double hi) { return isfinite(v) && v >= lo && v <= hi; }

static void build_table(unsigned char *t, double contrast, double brightness, double gamma, double weight)
{
    if (contrast == 1.0 && brightness == 0.0 && gamma == 1.0) {
        for (int i = 0; i < 256; i++) t[i] = (unsigned char)i;
    } else if (gamma == 1.0 && fabs(contrast) < 7.9) {         /* FFmpeg's process_c */
        int c = (int)(contrast * 4096);
        int b = ((int)(100 * brightness + 100) * 511) / 200 - 128 - c / 32;
        for (int i = 0; i < 256; i++) {
            int v = ((i * c) >> 12) + b;
            t[i] = (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    } else {                                                     /* FFmpeg's create_lut */
        for (int i = 0; i < 256; i++) {
            double v = contrast * (i / 255.0 - 0.5) + 0.5 + brightness;
            if (v <= 0.0) { t[i] = 0; continue; }
            v = v * (1.0 - weight) + pow(v, 1.0 / gamma) * weight;
            t[i] = v >= 1.0 ? 255 : (unsigned char)(256.0 * v);
        }
    }
}

void *veq_create(int width, int height, int pix_fmt, const veq_params *p)
{
    static const int shift_x[6] = {0, 1, 1, 0, 1, 0}, shift_y[6] = {0, 1, 0, 0, 1, 0};
    static const int planes[6] = {1, 3, 3, 3, 4, 4};
    if (!p || width < 1 || width > 32768 || height < 1 || height >= 32768 || pix_fmt < 0 || pix_fmt > 5)
        return NULL;
    if (!in_range(p->brightness, -1, 1) || !in_range(p->contrast, -1000, 1000) ||
        !in_range(p->saturation, 0, 3) || !in_range(p->gamma, 0.1, 10) ||
        !in_range(p->gamma_r, 0.1, 10) || !in_range(p->gamma_g, 0.1, 10) ||
        !in_range(p->gamma_b, 0.1, 10) || !in_range(p->gamma_weight, 0, 1))
        return NULL;
    /* stored as C floats, as FFmpeg does */
    double br = (float)p->brightness, ct = (float)p->contrast, sa = (float)p->saturation;
    double ga = (float)p->gamma, gr = (float)p->gamma_r, gg = (float)p->gamma_g;
    double gb = (float)p->gamma_b, gw = (float)p->gamma_weight;

    veq *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->n_planes = planes[pix_fmt];
    build_table(e->table[0], ct, br, ga * gg, gw);
    build_table(e->table[1], sa, 0.0, sqrt(gb / gg), gw);
    build_table(e->table[2], sa, 0.0, sqrt(gr / gg), gw);
    build_table(e->table[3], 1.0, 0.0, 1.0, gw);                /* alpha: copied */

    size_t luma = (size_t)width * height;
    size_t cw = ((size_t)width + (1u << shift_x[pix_fmt]) - 1) >> shift_x[pix_fmt];   /* rounded up */
    size_t ch = ((size_t)height + (1u << shift_y[pix_fmt]) - 1) >> shift_y[pix_fmt];
    size_t size[4] = {luma, cw * ch, cw * ch, luma};
    size_t total = 0;
    for (int k = 0; k < e->n_planes; k++) e->end[k] = total += size[k];
    return e;
}

size_t veq_process(void *h, const unsigned char *in, size_t n, unsigned char *out)
{
    veq *e = h;
    size_t frame = e->end[e->n_planes - 1], i = 0;
    while (i < n) {
        int plane = 0;
        while (e->end[plane] <= e->pos) plane++;
        size_t run = e->end[plane] - e->pos;
        if (run > n - i) run = n - i;
        const unsigned char *t = e->table[plane];
        for (size_t k = i; k < i + run; k++) out[k] = t[in[k]];
        i += run;
        e->pos += run;
        if (e->pos == frame) e->pos = 0;
    }
    return n;
}

void veq_destroy(void *h) { free(h); }
