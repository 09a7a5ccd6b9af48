// Correct candidate (no bug): the C++ implementation of the contract.
//
// An Equalizer class holds the cookbook biquads (transposed direct form II,
// double, state per section per channel) and the bytes of an incomplete frame;
// the C-linkage functions of the contract wrap it and never let an exception out.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

extern "C" {
typedef struct { int type; double freq; double q; double gain_db; } eq_band;
}

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kBytes[5] = {1, 2, 3, 4, 4};  // bytes per sample by format code

struct Biquad {
    double b0, b1, b2, a1, a2;
};

// Cookbook coefficients normalised by a0; false when the band is invalid.
bool design(const eq_band &band, int sample_rate, Biquad &out)
{
    const double f = band.freq, q = band.q, g = band.gain_db;
    if (!std::isfinite(f) || !std::isfinite(q) || !std::isfinite(g) || f <= 0 || f >= sample_rate / 2.0 || q <= 0)
        return false;
    const double a = std::pow(10.0, g / 40.0), w0 = 2 * kPi * f / sample_rate;
    const double cw = std::cos(w0), alpha = std::sin(w0) / (2 * q), k = 2 * std::sqrt(a) * alpha;
    double b[3], d[3] = {1 + alpha, -2 * cw, 1 - alpha};
    switch (band.type) {
    case 0: b[0] = 1 + alpha * a; b[1] = -2 * cw; b[2] = 1 - alpha * a;
            d[0] = 1 + alpha / a; d[2] = 1 - alpha / a; break;
    case 1: b[0] = a * ((a + 1) - (a - 1) * cw + k); b[1] = 2 * a * ((a - 1) - (a + 1) * cw);
            b[2] = a * ((a + 1) - (a - 1) * cw - k); d[0] = (a + 1) + (a - 1) * cw + k;
            d[1] = -2 * ((a - 1) + (a + 1) * cw); d[2] = (a + 1) + (a - 1) * cw - k; break;
    case 2: b[0] = a * ((a + 1) + (a - 1) * cw + k); b[1] = -2 * a * ((a - 1) + (a + 1) * cw);
            b[2] = a * ((a + 1) + (a - 1) * cw - k); d[0] = (a + 1) - (a - 1) * cw + k;
            d[1] = 2 * ((a - 1) - (a + 1) * cw); d[2] = (a + 1) - (a - 1) * cw - k; break;
    case 3: b[0] = (1 - cw) / 2; b[1] = 1 - cw; b[2] = (1 - cw) / 2; break;
    case 4: b[0] = (1 + cw) / 2; b[1] = -(1 + cw); b[2] = (1 + cw) / 2; break;
    case 5: b[0] = alpha; b[1] = 0; b[2] = -alpha; break;
    case 6: b[0] = 1; b[1] = -2 * cw; b[2] = 1; break;
    case 7: b[0] = 1 - alpha; b[1] = -2 * cw; b[2] = 1 + alpha; break;
    default: return false;
    }
    out = {b[0] / d[0], b[1] / d[0], b[2] / d[0], d[1] / d[0], d[2] / d[0]};
    return true;
}

class Equalizer {
public:
    Equalizer(int channels, int format, std::vector<Biquad> sections)
        : channels_(channels), format_(format), bps_(kBytes[format]), frame_bytes_(kBytes[format] * channels),
          sections_(std::move(sections)), z_(sections_.size() * channels * 2, 0.0), pending_(frame_bytes_)
    {
    }

    static bool valid_format(int format) { return format >= 0 && format <= 4; }

    size_t process(const unsigned char *in, size_t n, unsigned char *out)
    {
        size_t used = 0, written = 0;
        const size_t fb = frame_bytes_;
        if (n_pending_ && n) {  // complete the frame started by the previous call
            const size_t take = std::min(fb - n_pending_, n);
            std::memcpy(pending_.data() + n_pending_, in, take);
            n_pending_ += take;
            used = take;
            if (n_pending_ < fb) return 0;
            frame(pending_.data(), out);
            written = fb;
            n_pending_ = 0;
        }
        for (; used + fb <= n; used += fb, written += fb) frame(in + used, out + written);
        if (n > used) std::memcpy(pending_.data(), in + used, n - used);
        n_pending_ += n - used;
        return written;
    }

private:
    double decode(const unsigned char *p) const
    {
        switch (format_) {
        case 0: return (p[0] - 128) / 128.0;
        case 1: return static_cast<int16_t>(p[0] | p[1] << 8) / 32768.0;
        case 2: {
            int32_t v = p[0] | p[1] << 8 | p[2] << 16;
            if (v & 0x800000) v -= 0x1000000;
            return v / 8388608.0;
        }
        case 3: {
            uint32_t u = p[0] | p[1] << 8 | p[2] << 16 | static_cast<uint32_t>(p[3]) << 24;
            return static_cast<int32_t>(u) / 2147483648.0;
        }
        default: { float f; std::memcpy(&f, p, 4); return f; }
        }
    }

    void encode(double y, unsigned char *p) const
    {
        static const double scale[] = {128.0, 32768.0, 8388608.0, 2147483648.0};
        if (format_ == 4) { const float f = static_cast<float>(y); std::memcpy(p, &f, 4); return; }
        const double hi = scale[format_] - 1, lo = -scale[format_];
        double v = std::rint(y * scale[format_]);  // round half to even
        v = v < lo ? lo : v > hi ? hi : v;
        long long q = static_cast<long long>(v);
        if (format_ == 0) q += 128;
        for (int i = 0; i < bps_; i++) p[i] = static_cast<unsigned char>(static_cast<unsigned long long>(q) >> (8 * i));
    }

    void frame(const unsigned char *in, unsigned char *out)
    {
        for (int ch = 0; ch < channels_; ch++) {
            double x = decode(in + ch * bps_);
            for (size_t s = 0; s < sections_.size(); s++) {
                const Biquad &c = sections_[s];
                double *z = &z_[(s * channels_ + ch) * 2];
                const double y = c.b0 * x + z[0];
                z[0] = c.b1 * x - c.a1 * y + z[1];
                z[1] = c.b2 * x - c.a2 * y;
                x = y;
            }
            encode(x, out + ch * bps_);
        }
    }

    int channels_, format_, bps_;
    size_t frame_bytes_;
    std::vector<Biquad> sections_;
    std::vector<double> z_;   // [section][channel][2]
    std::vector<unsigned char> pending_;
    size_t n_pending_ = 0;
};

}  // namespace

extern "C" {

void *eq_create(int sample_rate, int channels, int format, const eq_band *bands, int n_bands)
{
    if (sample_rate <= 0 || channels < 1 || !Equalizer::valid_format(format) || n_bands < 0 || (n_bands && !bands))
        return nullptr;
    try {
        std::vector<Biquad> sections(n_bands);
        for (int i = 0; i < n_bands; i++)
            if (!design(bands[i], sample_rate, sections[i])) return nullptr;
        return new Equalizer(channels, format, std::move(sections));
    } catch (...) {
        return nullptr;
    }
}

size_t eq_process(void *eq, const unsigned char *in, size_t n, unsigned char *out)
{
    return static_cast<Equalizer *>(eq)->process(in, n, out);
}

void eq_destroy(void *eq)
{
    delete static_cast<Equalizer *>(eq);
}

}  // extern "C"
