/* eq._video: the byte loop of StreamingVideoEqualizer.process, in C.
 *
 * FFmpeg's eq filter maps each byte through a function of that byte alone,
 * chosen by its plane, so every plane is one 256-entry table
 * (eq.video.plane_tables). This module maps a chunk of a planar stream through
 * the tables of the planes its bytes fall in and returns the result as a new
 * bytes object, written in place (no second copy).
 *
 * map_planes(data, tables, plane_ends, frame_pos, method=-1) -> bytes
 *
 * data        bytes-like, C-contiguous: the next bytes of the stream.
 * tables      bytes-like of planes * 256 bytes: tables[p * 256 + v].
 * plane_ends  bytes-like of planes int64 (native order): offset in the frame
 *             just past each plane, strictly increasing; the last is the frame size.
 * frame_pos   offset in the frame of data[0], 0 <= frame_pos < frame size.
 * method      -1 the fastest this CPU has, 0 the portable loop, 1 AVX-512 VBMI
 *             (a ValueError where the CPU lacks it).
 *
 * fast_method() -> int: what method -1 runs on this CPU (0 or 1).
 *
 * The AVX-512 VBMI path looks a byte up in 4 registers of 64 table bytes with
 * two VPERMI2B (entries 0-127 and 128-255) and picks by the byte's top bit:
 * 64 bytes in a handful of instructions. The portable loop is a plain table
 * lookup. Both give the same bytes; the tests compare them with each other and
 * with the real ffmpeg. Long chunks are mapped without the GIL; the input's
 * buffer is exported meanwhile, but another thread must not write into it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define EQ_VIDEO_X86 1
#include <immintrin.h>
#endif

/* chunks longer than this are mapped without the GIL */
#define GIL_FREE_BYTES (1 << 16)

static void
lookup_portable(const uint8_t *src, uint8_t *dst, Py_ssize_t n, const uint8_t *table)
{
    for (Py_ssize_t k = 0; k < n; k++) {
        dst[k] = table[src[k]];
    }
}

/* 1 where the CPU has AVX-512 VBMI (found once, when the module is loaded) */
static int vbmi_available = 0;

#ifdef EQ_VIDEO_X86
__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static void
lookup_vbmi(const uint8_t *src, uint8_t *dst, Py_ssize_t n, const uint8_t *table)
{
    const __m512i t0 = _mm512_loadu_si512((const void *)(table));
    const __m512i t1 = _mm512_loadu_si512((const void *)(table + 64));
    const __m512i t2 = _mm512_loadu_si512((const void *)(table + 128));
    const __m512i t3 = _mm512_loadu_si512((const void *)(table + 192));
    Py_ssize_t k = 0;
    for (; k + 64 <= n; k += 64) {
        __m512i x = _mm512_loadu_si512((const void *)(src + k));
        __m512i low = _mm512_permutex2var_epi8(t0, x, t1);   /* entries 0-127 by x & 127 */
        __m512i high = _mm512_permutex2var_epi8(t2, x, t3);  /* entries 128-255 by x & 127 */
        __mmask64 top = _mm512_movepi8_mask(x);              /* x >= 128 */
        _mm512_storeu_si512((void *)(dst + k), _mm512_mask_blend_epi8(top, low, high));
    }
    if (k < n) {
        __mmask64 m = ((uint64_t)1 << (n - k)) - 1;  /* n - k < 64 */
        __m512i x = _mm512_maskz_loadu_epi8(m, (const void *)(src + k));
        __m512i low = _mm512_permutex2var_epi8(t0, x, t1);
        __m512i high = _mm512_permutex2var_epi8(t2, x, t3);
        __mmask64 top = _mm512_movepi8_mask(x);
        _mm512_mask_storeu_epi8((void *)(dst + k), m, _mm512_mask_blend_epi8(top, low, high));
    }
}

static int
has_vbmi(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
           && __builtin_cpu_supports("avx512vbmi");
}
#else
static int
has_vbmi(void)
{
    return 0;
}
#endif

typedef void (*lookup_fn)(const uint8_t *, uint8_t *, Py_ssize_t, const uint8_t *);

static void
map_runs(lookup_fn lookup, const uint8_t *src, uint8_t *dst, Py_ssize_t n, const uint8_t *tables,
         const int64_t *ends, Py_ssize_t planes, Py_ssize_t pos)
{
    Py_ssize_t plane = 0;
    while (ends[plane] <= pos) {
        plane++;
    }
    Py_ssize_t i = 0;
    while (i < n) {
        Py_ssize_t run = (Py_ssize_t)ends[plane] - pos;
        if (run > n - i) {
            run = n - i;
        }
        lookup(src + i, dst + i, run, tables + 256 * plane);
        i += run;
        pos += run;
        if (pos == ends[plane]) {
            plane++;
            if (plane == planes) {
                plane = 0;
                pos = 0;
            }
        }
    }
}

static PyObject *
map_planes(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"data", "tables", "plane_ends", "frame_pos", "method", NULL};
    Py_buffer data, tables, ends;
    Py_ssize_t frame_pos;
    int method = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*y*y*n|i:map_planes", keywords, &data, &tables, &ends,
                                     &frame_pos, &method)) {
        return NULL;
    }
    PyObject *out = NULL;
    Py_ssize_t planes = ends.len / (Py_ssize_t)sizeof(int64_t);
    const int64_t *end = (const int64_t *)ends.buf;
    if (planes < 1 || ends.len % (Py_ssize_t)sizeof(int64_t) || tables.len != 256 * planes) {
        PyErr_Format(PyExc_ValueError, "map_planes: %zd table bytes and %zd plane-end bytes do not describe "
                     "planes of 256-entry tables", tables.len, ends.len);
        goto done;
    }
    for (Py_ssize_t p = 0; p < planes; p++) {
        if (end[p] <= (p ? end[p - 1] : 0)) {
            PyErr_SetString(PyExc_ValueError, "map_planes: plane ends must be positive and increasing");
            goto done;
        }
    }
    if (frame_pos < 0 || frame_pos >= end[planes - 1]) {
        PyErr_Format(PyExc_ValueError, "map_planes: frame_pos %zd is outside the %lld-byte frame", frame_pos,
                     (long long)end[planes - 1]);
        goto done;
    }
    lookup_fn lookup = lookup_portable;
    if (method == 1 || (method == -1 && vbmi_available)) {
#ifdef EQ_VIDEO_X86
        if (!vbmi_available) {
            PyErr_SetString(PyExc_ValueError, "map_planes: this CPU has no AVX-512 VBMI");
            goto done;
        }
        lookup = lookup_vbmi;
#else
        PyErr_SetString(PyExc_ValueError, "map_planes: AVX-512 VBMI is for x86-64 only");
        goto done;
#endif
    }
    else if (method != 0 && method != -1) {
        PyErr_Format(PyExc_ValueError, "map_planes: method must be -1, 0 or 1, got %d", method);
        goto done;
    }
    out = PyBytes_FromStringAndSize(NULL, data.len);
    if (out == NULL) {
        goto done;
    }
    uint8_t *dst = (uint8_t *)PyBytes_AS_STRING(out);
    if (data.len > GIL_FREE_BYTES) {
        Py_BEGIN_ALLOW_THREADS
        map_runs(lookup, (const uint8_t *)data.buf, dst, data.len, (const uint8_t *)tables.buf, end, planes,
                 frame_pos);
        Py_END_ALLOW_THREADS
    }
    else {
        map_runs(lookup, (const uint8_t *)data.buf, dst, data.len, (const uint8_t *)tables.buf, end, planes,
                 frame_pos);
    }
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&tables);
    PyBuffer_Release(&ends);
    return out;
}

static PyObject *
fast_method(PyObject *module, PyObject *unused)
{
    return PyLong_FromLong(vbmi_available);
}

static PyMethodDef video_methods[] = {
    {"map_planes", (PyCFunction)(void (*)(void))map_planes, METH_VARARGS | METH_KEYWORDS,
     "map_planes(data, tables, plane_ends, frame_pos, method=-1)\n--\n\n"
     "Map the bytes of `data` through the 256-entry table of the plane each falls in, from\n"
     "offset `frame_pos` of a frame; return them as new bytes. `method`: -1 the fastest this\n"
     "CPU has, 0 the portable loop, 1 AVX-512 VBMI.\n"},
    {"fast_method", fast_method, METH_NOARGS,
     "fast_method()\n--\n\nThe method map_planes runs by default on this CPU: 1 (AVX-512 VBMI) or 0.\n"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef video_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "eq._video",
    .m_doc = "The byte loop of StreamingVideoEqualizer.process, in C.",
    .m_size = -1,
    .m_methods = video_methods,
};

PyMODINIT_FUNC
PyInit__video(void)
{
    vbmi_available = has_vbmi();
    return PyModule_Create(&video_module);
}
