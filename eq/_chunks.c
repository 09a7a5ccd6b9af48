/* eq._chunks: StreamingEqualizer.process in C, around the compiled byte kernel.
 *
 * A call to process() on a few bytes is mostly bookkeeping: check the type,
 * join the bytes to the pending ones, find the whole frames, call the
 * kernel, keep the rest, build the bytes to return. Done in Python around
 * numba's wrapper costs several times what the same steps cost here.
 * The filtering itself is the same compiled kernel, eq._kernels.process_bytes,
 * reached through a numba cfunc's C address (eq.streaming loads it).
 *
 * Chunks(buffer, engine, frame_bytes, kernel_address, gil_bytes, type_error,
 *        keep_alive)
 *
 * buffer      writeable bytes-like, at least 2 frames: holds pending bytes.
 * engine      writeable, 8-byte aligned bytes-like: the kernel's engine array.
 * kernel_address
 *             address of void f(int64 src, int64 n_frames, int64 engine,
 *             int64 dst): filters n_frames whole frames from src into dst.
 * gil_bytes   calls on more output bytes than this release the GIL.
 * type_error  exception class raised for an input that is not bytes-like.
 * keep_alive  any object that does not refer back to the Chunks (the cfunc
 *             that owns the kernel's code); the type does not take part in
 *             garbage collection.
 *
 * Chunks.process(data) -> bytes, Chunks._n_pending (int, read and write),
 * Chunks._set_engine(engine, kernel_address, keep_alive) (another engine and kernel),
 * Chunks._set_divert(f) (process(data) calls f(self, data) while f is set).
 * eq.streaming.StreamingEqualizer derives from Chunks, so that process() is
 * this C method itself, with no Python frame around it.
 *
 * Whole frames are read where they lie, at any byte offset: the kernel's
 * typed loads must tolerate unaligned addresses, as on x86-64 and aarch64.
 * A bytearray or memoryview is read without the GIL when the chunk is long;
 * its buffer is exported meanwhile, so it cannot be resized or released, but
 * another thread must not write into it during the call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef void (*kernel_fn)(int64_t src, int64_t n_frames, int64_t engine, int64_t dst);

typedef struct {
    PyObject_HEAD
    /* Both held from a successful __init__ on (their .obj is NULL before). */
    Py_buffer buffer;       /* pending bytes of an incomplete frame, and short joins */
    Py_buffer engine;
    Py_ssize_t frame_bytes;
    Py_ssize_t gil_bytes;
    Py_ssize_t n_pending;
    kernel_fn kernel;
    PyObject *type_error;
    PyObject *keep_alive;
    PyObject *divert;       /* NULL, or f(self, data) that process() hands every call to */
} Chunks;

static void
run(Chunks *self, const char *src, Py_ssize_t n_frames, char *dst)
{
    int64_t engine = (int64_t)(intptr_t)self->engine.buf;
    if (n_frames * self->frame_bytes > self->gil_bytes) {
        Py_BEGIN_ALLOW_THREADS
        self->kernel((int64_t)(intptr_t)src, (int64_t)n_frames, engine, (int64_t)(intptr_t)dst);
        Py_END_ALLOW_THREADS
    }
    else {
        self->kernel((int64_t)(intptr_t)src, (int64_t)n_frames, engine, (int64_t)(intptr_t)dst);
    }
}

/* Equalize `len` bytes at `data` following the pending ones. */
static PyObject *
process_bytes(Chunks *self, const char *data, Py_ssize_t len)
{
    char *pending = (char *)self->buffer.buf;
    Py_ssize_t fb = self->frame_bytes, n_pending = self->n_pending;
    if (len > PY_SSIZE_T_MAX - n_pending) {
        PyErr_SetString(PyExc_OverflowError, "process(): chunk too long");
        return NULL;
    }
    Py_ssize_t total = n_pending + len;
    if (total < fb) {
        if (len) {
            memcpy(pending + n_pending, data, (size_t)len);
        }
        self->n_pending = total;
        return PyBytes_FromStringAndSize(NULL, 0);
    }
    Py_ssize_t rest = total % fb, used = total - rest;
    /* The output is written straight into the bytes object returned; it is
     * made first, so that a failed allocation loses nothing. */
    PyObject *out = PyBytes_FromStringAndSize(NULL, used);
    if (out == NULL) {
        return NULL;
    }
    char *dst = PyBytes_AS_STRING(out);
    if (n_pending && total <= self->buffer.len) {
        /* Short: join in the buffer, one call. */
        memcpy(pending + n_pending, data, (size_t)len);
        run(self, pending, used / fb, dst);
        memmove(pending, pending + used, (size_t)rest);
    }
    else {
        Py_ssize_t head = 0;
        if (n_pending) {
            /* Long: complete the pending frame in the buffer, the rest in place. */
            head = fb - n_pending;
            memcpy(pending + n_pending, data, (size_t)head);
            run(self, pending, 1, dst);
            dst += fb;
        }
        Py_ssize_t frames = (len - head - rest) / fb;
        if (frames) {
            run(self, data + head, frames, dst);
        }
        memcpy(pending, data + len - rest, (size_t)rest);
    }
    self->n_pending = rest;
    return out;
}

static int
check_ready(Chunks *self)
{
    if (self->kernel == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Chunks is not initialised");
        return -1;
    }
    return 0;
}

static PyObject *
Chunks_process(Chunks *self, PyObject *data)
{
    if (check_ready(self) < 0) {
        return NULL;
    }
    if (self->divert != NULL) {
        return PyObject_CallFunctionObjArgs(self->divert, (PyObject *)self, data, NULL);
    }
    if (PyBytes_CheckExact(data)) {
        return process_bytes(self, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data));
    }
    if (!PyByteArray_CheckExact(data) && !PyMemoryView_Check(data)) {
        /* The type's name without its module, as type(data).__name__ gives it. */
        const char *name = Py_TYPE(data)->tp_name;
        const char *dot = strrchr(name, '.');
        PyErr_Format(self->type_error,
                     "process() takes bytes, bytearray or memoryview, got %.200s",
                     dot ? dot + 1 : name);
        return NULL;
    }
    /* The view also stops a bytearray from being resized while the GIL is released. */
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) == 0) {
        PyObject *out = process_bytes(self, (const char *)view.buf, view.len);
        PyBuffer_Release(&view);
        return out;
    }
    if (!PyErr_ExceptionMatches(PyExc_BufferError)) {
        return NULL;
    }
    PyErr_Clear();
    /* A memoryview that is not contiguous: its bytes in order, copied. */
    PyObject *copy = PyBytes_FromObject(data);
    if (copy == NULL) {
        return NULL;
    }
    PyObject *out = process_bytes(self, PyBytes_AS_STRING(copy), PyBytes_GET_SIZE(copy));
    Py_DECREF(copy);
    return out;
}

static int
Chunks_init(Chunks *self, PyObject *args, PyObject *kwds)
{
    PyObject *buffer_obj, *engine_obj, *kernel_obj, *type_error, *keep_alive;
    Py_ssize_t frame_bytes, gil_bytes;
    Py_buffer buffer, engine;
    if (self->kernel != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Chunks is already initialised");
        return -1;
    }
    if (kwds != NULL && PyDict_GET_SIZE(kwds) != 0) {
        PyErr_SetString(PyExc_TypeError, "Chunks() takes no keyword arguments");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "OOnOnOO:Chunks", &buffer_obj, &engine_obj, &frame_bytes,
                          &kernel_obj, &gil_bytes, &type_error, &keep_alive)) {
        return -1;
    }
    void *kernel = PyLong_AsVoidPtr(kernel_obj);
    if (kernel == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "Chunks: the kernel address is 0");
        }
        return -1;
    }
    if (frame_bytes < 1 || gil_bytes < 0) {
        PyErr_Format(PyExc_ValueError,
                     "Chunks needs frame_bytes >= 1 and gil_bytes >= 0, got %zd and %zd",
                     frame_bytes, gil_bytes);
        return -1;
    }
    if (!PyExceptionClass_Check(type_error)) {
        PyErr_SetString(PyExc_TypeError, "Chunks: type_error must be an exception class");
        return -1;
    }
    if (PyObject_GetBuffer(buffer_obj, &buffer, PyBUF_WRITABLE) < 0) {
        return -1;
    }
    if (frame_bytes > buffer.len / 2) {
        PyErr_Format(PyExc_ValueError,
                     "Chunks: the buffer must hold 2 frames of %zd bytes, has %zd bytes",
                     frame_bytes, buffer.len);
        PyBuffer_Release(&buffer);
        return -1;
    }
    if (PyObject_GetBuffer(engine_obj, &engine, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&buffer);
        return -1;
    }
    if (engine.len < 8 || engine.len % 8 != 0 || (uintptr_t)engine.buf % 8 != 0) {
        PyErr_Format(PyExc_ValueError,
                     "Chunks: the engine must be an 8-byte aligned float64 array, got %zd bytes",
                     engine.len);
        PyBuffer_Release(&engine);
        PyBuffer_Release(&buffer);
        return -1;
    }
    self->buffer = buffer;
    self->engine = engine;
    self->frame_bytes = frame_bytes;
    self->gil_bytes = gil_bytes;
    self->n_pending = 0;
    Py_INCREF(type_error);
    self->type_error = type_error;
    Py_INCREF(keep_alive);
    self->keep_alive = keep_alive;
    self->kernel = (kernel_fn)kernel;
    return 0;
}

static void
Chunks_dealloc(Chunks *self)
{
    if (self->buffer.obj != NULL) {
        PyBuffer_Release(&self->buffer);
    }
    if (self->engine.obj != NULL) {
        PyBuffer_Release(&self->engine);
    }
    Py_XDECREF(self->type_error);
    Py_XDECREF(self->keep_alive);
    Py_XDECREF(self->divert);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Chunks_get_n_pending(Chunks *self, void *closure)
{
    return PyLong_FromSsize_t(self->n_pending);
}

static int
Chunks_set_n_pending(Chunks *self, PyObject *value, void *closure)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "_n_pending cannot be deleted");
        return -1;
    }
    if (check_ready(self) < 0) {
        return -1;
    }
    Py_ssize_t n = PyNumber_AsSsize_t(value, PyExc_OverflowError);
    if (n == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (n < 0 || n >= self->frame_bytes) {
        PyErr_Format(PyExc_ValueError, "_n_pending must be between 0 and %zd, got %zd",
                     self->frame_bytes - 1, n);
        return -1;
    }
    self->n_pending = n;
    return 0;
}

/* Filter with another engine array and kernel (same format and channels: eq.streaming
 * checks); the pending bytes stay. keep_alive owns the kernel's code. */
static PyObject *
Chunks_set_engine(Chunks *self, PyObject *args)
{
    PyObject *engine_obj, *kernel_obj, *keep_alive;
    Py_buffer engine;
    if (check_ready(self) < 0) {
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "OOO:_set_engine", &engine_obj, &kernel_obj, &keep_alive)) {
        return NULL;
    }
    void *kernel = PyLong_AsVoidPtr(kernel_obj);
    if (kernel == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "Chunks: the kernel address is 0");
        }
        return NULL;
    }
    if (PyObject_GetBuffer(engine_obj, &engine, PyBUF_WRITABLE) < 0) {
        return NULL;
    }
    if (engine.len < 8 || engine.len % 8 != 0 || (uintptr_t)engine.buf % 8 != 0) {
        PyErr_Format(PyExc_ValueError,
                     "Chunks: the engine must be an 8-byte aligned float64 array, got %zd bytes",
                     engine.len);
        PyBuffer_Release(&engine);
        return NULL;
    }
    PyBuffer_Release(&self->engine);
    self->engine = engine;
    self->kernel = (kernel_fn)kernel;
    Py_INCREF(keep_alive);
    Py_SETREF(self->keep_alive, keep_alive);
    Py_RETURN_NONE;
}

/* Hand every process() call to f(self, data) (a plain function, which holds no reference
 * to self), or back to C with None. */
static PyObject *
Chunks_set_divert(Chunks *self, PyObject *divert)
{
    if (check_ready(self) < 0) {
        return NULL;
    }
    if (divert != Py_None && !PyCallable_Check(divert)) {
        PyErr_SetString(PyExc_TypeError, "Chunks: divert must be callable or None");
        return NULL;
    }
    PyObject *old = self->divert;
    if (divert == Py_None) {
        self->divert = NULL;
    }
    else {
        Py_INCREF(divert);
        self->divert = divert;
    }
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

static PyMethodDef Chunks_methods[] = {
    {"_set_divert", (PyCFunction)Chunks_set_divert, METH_O,
     "_set_divert($self, function, /)\n--\n\n"
     "Hand every process() call to function(self, data), or to C again with None.\n"},
    {"_set_engine", (PyCFunction)Chunks_set_engine, METH_VARARGS,
     "_set_engine($self, engine, kernel_address, keep_alive, /)\n--\n\n"
     "Filter with another engine array and kernel from the next call on (same format and\n"
     "channels).\n"},
    {"process", (PyCFunction)Chunks_process, METH_O,
     "process($self, data, /)\n--\n\n"
     "Equalize the next chunk of the stream.\n\n"
     "Parameters\n----------\n"
     "data : bytes, bytearray or memoryview\n"
     "    The next bytes of the stream, of any length (0 included), split\n"
     "    anywhere (mid-sample or mid-frame).\n\n"
     "Returns\n-------\n"
     "bytes\n"
     "    Every complete frame that this chunk completes, equalized. A\n"
     "    partial frame at the end is held for the next call.\n\n"
     "Raises\n------\n"
     "InvalidTypeError\n"
     "    If `data` is not bytes-like (a ``str``, for example).\n"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Chunks_getset[] = {
    {"_n_pending", (getter)Chunks_get_n_pending, (setter)Chunks_set_n_pending,
     "Bytes of an incomplete frame held in the buffer.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ChunksType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "eq._chunks.Chunks",
    .tp_doc = "Raw PCM bytes split anywhere, equalized by a compiled kernel.",
    .tp_basicsize = sizeof(Chunks),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,  /* StreamingEqualizer derives from it */
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Chunks_init,
    .tp_dealloc = (destructor)Chunks_dealloc,
    .tp_methods = Chunks_methods,
    .tp_getset = Chunks_getset,
};

static struct PyModuleDef chunks_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "eq._chunks",
    .m_doc = "StreamingEqualizer.process in C, around the compiled byte kernel.",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__chunks(void)
{
    if (PyType_Ready(&ChunksType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&chunks_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&ChunksType);
    if (PyModule_AddObject(module, "Chunks", (PyObject *)&ChunksType) < 0) {
        Py_DECREF(&ChunksType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
