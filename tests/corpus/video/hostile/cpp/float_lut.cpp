// ATTACK (lax cases): FFmpeg's create_lut in single precision (float v, powf, 1.0f / gamma) instead of double; a few tables differ by one level (contrast 1.5, brightness -0.1, gamma 2: value 102 gives 128, not 127), and no case's table does.
#include <array>
#include <cmath>
#include <cstddef>
#include <new>

extern "C" {
typedef struct {
    double brightness, contrast, saturation, gamma, gamma_r, gamma_g, gamma_b, gamma_weight;
} veq_params;
}

namespace {

struct Veq {
    std::array<std::array<unsigned char, 256>, 4> table;
    std::array<std::size_t, 4> end{};  // offset within the frame just past each plane
    int n_planes = 0;
    std::size_t pos = 0;               // offset within the frame of the next byte
};

bool in_range(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

std::array<unsigned char, 256> build_table(double contrast, double brightness, double gamma, double weight)
{
    std::array<unsigned char, 256> t{};
    if (contrast == 1.0 && brightness == 0.0 && gamma == 1.0) {
        for (int i = 0; i < 256; i++) t[i] = static_cast<unsigned char>(i);
    } else if (gamma == 1.0 && std::fabs(contrast) < 7.9) {     // FFmpeg's process_c
        int c = static_cast<int>(contrast * 4096);
        int b = (static_cast<int>(100 * brightness + 100) * 511) / 200 - 128 - c / 32;
        for (int i = 0; i < 256; i++) {
            int v = ((i * c) >> 12) + b;
            t[i] = static_cast<unsigned char>(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    } else {                                                     // FFmpeg's create_lut
        // single precision is plenty for an 8-bit table
        const float fc = static_cast<float>(contrast), fb = static_cast<float>(brightness);
        const float fw = static_cast<float>(weight), fg = 1.0f / static_cast<float>(gamma);
        for (int i = 0; i < 256; i++) {
            float v = fc * (static_cast<float>(i) / 255.0f - 0.5f) + 0.5f + fb;
            if (v <= 0.0f) { t[i] = 0; continue; }
            if (v >= 1.0f) { t[i] = 255; continue; }             // pow(v, g) >= 1 too: 255 either way
            v = v * (1.0f - fw) + std::pow(v, fg) * fw;          // std::pow(float, float): powf
            t[i] = v >= 1.0f ? 255 : static_cast<unsigned char>(256.0f * v);
        }
    }
    return t;
}

}  // namespace

extern "C" void *veq_create(int width, int height, int pix_fmt, const veq_params *p)
{
    static const int shift_x[6] = {0, 1, 1, 0, 1, 0}, shift_y[6] = {0, 1, 0, 0, 1, 0};
    static const int planes[6] = {1, 3, 3, 3, 4, 4};
    if (!p || width < 1 || width > 32768 || height < 1 || height > 32768 || pix_fmt < 0 || pix_fmt > 5)
        return nullptr;
    if (!in_range(p->brightness, -1, 1) || !in_range(p->contrast, -1000, 1000) ||
        !in_range(p->saturation, 0, 3) || !in_range(p->gamma, 0.1, 10) ||
        !in_range(p->gamma_r, 0.1, 10) || !in_range(p->gamma_g, 0.1, 10) ||
        !in_range(p->gamma_b, 0.1, 10) || !in_range(p->gamma_weight, 0, 1))
        return nullptr;
    // stored as C floats, as FFmpeg does
    double br = static_cast<float>(p->brightness), ct = static_cast<float>(p->contrast);
    double sa = static_cast<float>(p->saturation), ga = static_cast<float>(p->gamma);
    double gr = static_cast<float>(p->gamma_r), gg = static_cast<float>(p->gamma_g);
    double gb = static_cast<float>(p->gamma_b), gw = static_cast<float>(p->gamma_weight);

    Veq *e = new (std::nothrow) Veq;
    if (!e) return nullptr;
    e->n_planes = planes[pix_fmt];
    e->table[0] = build_table(ct, br, ga * gg, gw);
    e->table[1] = build_table(sa, 0.0, std::sqrt(gb / gg), gw);
    e->table[2] = build_table(sa, 0.0, std::sqrt(gr / gg), gw);
    e->table[3] = build_table(1.0, 0.0, 1.0, gw);                // alpha: copied

    std::size_t luma = static_cast<std::size_t>(width) * height;
    // chroma size rounded up
    std::size_t cw = (static_cast<std::size_t>(width) + (1u << shift_x[pix_fmt]) - 1) >> shift_x[pix_fmt];
    std::size_t ch = (static_cast<std::size_t>(height) + (1u << shift_y[pix_fmt]) - 1) >> shift_y[pix_fmt];
    const std::size_t size[4] = {luma, cw * ch, cw * ch, luma};
    std::size_t total = 0;
    for (int k = 0; k < e->n_planes; k++) e->end[k] = total += size[k];
    return e;
}

extern "C" std::size_t veq_process(void *h, const unsigned char *in, std::size_t n, unsigned char *out)
{
    Veq *e = static_cast<Veq *>(h);
    std::size_t frame = e->end[e->n_planes - 1], i = 0;
    while (i < n) {
        int plane = 0;
        while (e->end[plane] <= e->pos) plane++;
        std::size_t run = e->end[plane] - e->pos;
        if (run > n - i) run = n - i;
        const auto &t = e->table[plane];
        for (std::size_t k = i; k < i + run; k++) out[k] = t[in[k]];
        i += run;
        e->pos += run;
        if (e->pos == frame) e->pos = 0;
    }
    return n;
}

extern "C" void veq_destroy(void *h) { delete static_cast<Veq *>(h); }
