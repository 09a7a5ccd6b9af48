// Hostile candidate -- attack class: compile-time CPU bomb (the compiler's CPU time is not
// limited, and its timeout does not stop it).
//
// What it does: tests/corpus/cpp/correct.cpp (the C++17 port of correct.c, unchanged), plus 160
// explicit instantiations of a class template whose static_assert calls a constexpr function of
// about 26.5 million constant-evaluation operations each (a 1500 x 1000 loop), under every
// default limit of g++ (-fconstexpr-ops-limit, -fconstexpr-loop-limit, -ftemplate-depth).
// Nothing of it reaches the library, which is a correct implementation once built.
//
// Measured: plain `g++ -O2 -shared -fPIC -std=c++17` takes 194 s of CPU (72 MB peak RSS) and
// builds a valid library; `timeout 60 g++ ...` is killed at 60 s (exit 124) with cc1plus still
// busy (55 s of CPU at 58 s). Against the current harness: compile_error "compiler timed out
// after 120.0 s" after 123 s, but subprocess.run's timeout kills only the g++ driver: cc1plus,
// reparented to pid 1, went on for about 3 more minutes after the harness had moved on, and left
// its /tmp/cc*.s file behind.
//
// Deserved under the new harness: resource_limit (compile time capped; the whole compiler
// process tree must die with it).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

// ------------------------------------------------------------------ the attack
// Compile-time work only: nothing of it reaches the library. Each static_assert is one constant
// evaluation of about 26.5 million operations, under g++'s default limits (-fconstexpr-ops-limit
// 2^25 per evaluation, -fconstexpr-loop-limit 262144 per loop: 1500 and 1000 iterations here),
// about 1.3 s of CPU each (g++ 12, AMD EPYC) and little memory (the values stay below 1024, so
// no new constants pile up). 160 of them, each with its own seed so that no result is reused:
// about 3.5 min of CPU.
namespace compile_time_burn {

constexpr unsigned churn(unsigned seed)
{
    unsigned x = seed;
    for (unsigned i = 0; i < 1500; ++i)
        for (unsigned j = 0; j < 1000; ++j)
            x = (x * 5u + 3u) & 1023u;
    return x;
}

template <unsigned Seed>
struct Tick {
    static_assert(churn(Seed) != 5000u, "never fires: churn() is below 1024");
    static constexpr unsigned value = Seed;
};

#define BURN1(n) template struct Tick<n>;
#define BURN8(n) BURN1(n) BURN1(n + 1) BURN1(n + 2) BURN1(n + 3) BURN1(n + 4) BURN1(n + 5) BURN1(n + 6) BURN1(n + 7)
BURN8(0) BURN8(8) BURN8(16) BURN8(24)
BURN8(32) BURN8(40) BURN8(48) BURN8(56)
BURN8(64) BURN8(72) BURN8(80) BURN8(88)
BURN8(96) BURN8(104) BURN8(112) BURN8(120)
BURN8(128) BURN8(136) BURN8(144) BURN8(152)
#undef BURN8
#undef BURN1

}  // namespace compile_time_burn

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
