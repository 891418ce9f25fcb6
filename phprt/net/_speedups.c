/* FastCGI's PARAMS in C (FCGI-PERF-5).
 *
 * decode_ascii_pairs(data) does what net/fastcgi.py's decode_text_pairs() does with a
 * stream that is all ASCII (every byte, and so every length, below 128, as nginx's
 * usually are): the pairs, cut out in order, as a dict of str -- each name in the
 * place it was first sent, with the last value sent for it. For any other stream --
 * a byte of 128 or more, a pair cut short or running past the end -- it returns None,
 * and the Python code decodes it, raising what it raises. Optional: phprt works
 * without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *
decode_ascii_pairs(PyObject *module, PyObject *arg)
{
    if (!PyBytes_CheckExact(arg)) {
        Py_RETURN_NONE;
    }
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(arg);
    Py_ssize_t end = PyBytes_GET_SIZE(arg);
    for (Py_ssize_t i = 0; i < end; i++) {
        if (data[i] >= 0x80) {
            Py_RETURN_NONE;
        }
    }
    PyObject *variables = PyDict_New();
    if (variables == NULL) {
        return NULL;
    }
    Py_ssize_t position = 0;
    while (position < end) {
        if (end - position < 2) {
            goto other;
        }
        Py_ssize_t start = position + 2;
        Py_ssize_t middle = start + data[position];
        Py_ssize_t stop = middle + data[position + 1];
        if (stop > end) {
            goto other;
        }
        PyObject *name = PyUnicode_DecodeASCII((const char *)data + start, middle - start, NULL);
        if (name == NULL) {
            goto fail;
        }
        PyObject *value = PyUnicode_DecodeASCII((const char *)data + middle, stop - middle, NULL);
        if (value == NULL) {
            Py_DECREF(name);
            goto fail;
        }
        int failed = PyDict_SetItem(variables, name, value);
        Py_DECREF(name);
        Py_DECREF(value);
        if (failed) {
            goto fail;
        }
        position = stop;
    }
    return variables;
other:
    Py_DECREF(variables);
    Py_RETURN_NONE;
fail:
    Py_DECREF(variables);
    return NULL;
}

static PyMethodDef methods[] = {
    {"decode_ascii_pairs", decode_ascii_pairs, METH_O,
     "decode_ascii_pairs(data, /)\n--\n\nAn all-ASCII PARAMS stream's pairs as a dict of str; None for any other."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "phprt.net._speedups", "FastCGI's PARAMS in C (FCGI-PERF-5); optional.", -1, methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *created = PyModule_Create(&module);
    if (created != NULL && PyModule_AddIntConstant(created, "VERSION", 1) < 0) {
        Py_DECREF(created);
        return NULL;
    }
    return created;
}
