/* The learned ranker's trees over a request's candidates, compiled (protos/ranker/forest.py is the reference).
 *
 * predict(feature, threshold, left, right, default_left, missing, value, root, x, out, features, depth)
 *   the forest as one table of N nodes in which leaves are nodes too (protos.ranker.forest's `walk`: a leaf has
 *   threshold +inf and both children itself, and its `value`): feature int32[N], threshold float64[N],
 *   left/right int32[N] (node indices), default_left uint8[N], missing uint8[N] (0 none: NaN is 0; 1 zero: 0 and
 *   NaN go the default way; 2 NaN: NaN goes the default way), value float64[N], root int32[T]; x float32[R * F]
 *   (rows of F features, C order); out float64[R] (written: each row's sum of its leaves, LightGBM's raw score);
 *   depth: the deepest tree's levels (no walk takes more steps); internal: the number of internal nodes (the
 *   table's first ones; the leaves follow).
 * Every buffer is read through the buffer protocol and its size checked, and every index in the table is checked
 * once before any walk, so no input reads outside its buffers. The GIL is released while the trees are walked.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    Py_buffer view;
    int held;
} Buf;

static int get(PyObject *obj, Buf *b, Py_ssize_t item, const char *format, const char *name, int writable) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    b->held = 0;
    if (PyObject_GetBuffer(obj, &b->view, flags) < 0) {
        PyErr_Format(PyExc_ValueError, "%s: not a contiguous%s buffer", name, writable ? " writable" : "");
        return -1;
    }
    b->held = 1;
    const char *f = b->view.format ? b->view.format : "B";
    if (f[0] == '<' || f[0] == '=' || f[0] == '@') f++;
    if (b->view.itemsize != item || strchr(format, f[0]) == NULL || f[1] != '\0') {
        PyErr_Format(PyExc_ValueError, "%s: items of format %s (size %zd), expected one of %s (size %zd)", name, f,
                     b->view.itemsize, format, item);
        return -1;
    }
    return 0;
}

static void release(Buf *bufs, int n) {
    for (int i = 0; i < n; i++)
        if (bufs[i].held) PyBuffer_Release(&bufs[i].view);
}

static PyObject *predict(PyObject *self, PyObject *args) {
    PyObject *o[10];
    Py_ssize_t features, depth, internal;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOnnn", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8], &o[9],
                          &features, &depth, &internal))
        return NULL;
    static const char *names[10] = {"feature", "threshold", "left", "right", "default_left", "missing", "value",
                                    "root", "x", "out"};
    static const Py_ssize_t sizes[10] = {4, 8, 4, 4, 1, 1, 8, 4, 4, 8};
    static const char *formats[10] = {"i", "d", "i", "i", "B?b", "Bb", "d", "i", "f", "d"};
    Buf b[10];
    memset(b, 0, sizeof b);
    for (int i = 0; i < 10; i++) {
        if (get(o[i], &b[i], sizes[i], formats[i], names[i], i == 9) < 0) {
            release(b, 10);
            return NULL;
        }
    }
    Py_ssize_t n = b[0].view.len / 4, trees = b[7].view.len / 4, rows = b[9].view.len / 8;
    const char *error = NULL;
    for (int i = 1; i < 7 && !error; i++)
        if (b[i].view.len / sizes[i] != n) error = names[i];
    if (error) {
        PyErr_Format(PyExc_ValueError, "%s: not one entry per node (%zd nodes)", error, n);
        release(b, 10);
        return NULL;
    }
    if (features <= 0 || depth < 0 || depth > n || internal < 0 || internal > n ||
        b[8].view.len / 4 != rows * features) {
        PyErr_Format(PyExc_ValueError, "x: %zd values for %zd rows of %zd features (depth %zd)", b[8].view.len / 4,
                     rows, features, depth);
        release(b, 10);
        return NULL;
    }
    const int32_t *feature = b[0].view.buf, *left = b[2].view.buf, *right = b[3].view.buf, *root = b[7].view.buf;
    const double *threshold = b[1].view.buf, *value = b[6].view.buf;
    const uint8_t *default_left = b[4].view.buf, *missing = b[5].view.buf;
    const float *x = b[8].view.buf;
    double *out = b[9].view.buf;
    /* Every index is checked once, before any walk: then a walk cannot leave the arrays. */
    for (Py_ssize_t i = 0; i < n && !error; i++) {
        if (left[i] < 0 || left[i] >= n || right[i] < 0 || right[i] >= n) error = "left/right: a child outside the nodes";
        else if (feature[i] < 0 || feature[i] >= features) error = "feature: an index outside the features";
        else if (missing[i] > 2) error = "missing: a code other than none, zero or NaN";
    }
    for (Py_ssize_t t = 0; t < trees && !error; t++)
        if (root[t] < 0 || root[t] >= n) error = "root: a node outside the nodes";
    if (error) {
        PyErr_SetString(PyExc_ValueError, error);
        release(b, 10);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < rows; r++) out[r] = 0.0;
    /* Tree by tree over every row (one tree's few nodes stay in the first-level cache for all rows); a walk ends
     * at a leaf (a node from `internal` on) or after `depth` steps, whichever comes first. */
    for (Py_ssize_t t = 0; t < trees; t++) {
        for (Py_ssize_t r = 0; r < rows; r++) {
            const float *row = x + r * features;
            int32_t node = root[t];
            for (Py_ssize_t d = 0; d < depth && node < internal; d++) {
                double v = (double)row[feature[node]];
                uint8_t kind = missing[node];
                int nan = isnan(v);
                v = (nan && kind != 2) ? 0.0 : v;
                int fallback = (kind == 1 && fabs(v) <= 1e-35) || (kind == 2 && nan);
                int go_left = fallback ? default_left[node] != 0 : v <= threshold[node];
                node = go_left ? left[node] : right[node];
            }
            out[r] += value[node];
        }
    }
    Py_END_ALLOW_THREADS
    release(b, 10);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"predict", predict, METH_VARARGS,
     "predict(feature, threshold, left, right, default_left, missing, value, root, x, out, features, depth, "
     "internal): each "
     "row's raw score (the sum of its leaves) into out."},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_forest",
                                    "The learned ranker's trees, compiled (native/forest.py).", -1, methods};

PyMODINIT_FUNC PyInit__forest(void) { return PyModule_Create(&module); }
