/* The echo fast path in C (PERF-ECHO-1).
 *
 * echo_into(chunks, fallback) returns a builtin function that behaves exactly like
 * the closure Runtime._bind_echo otherwise builds in Python: called with one exact
 * str, it appends it to ``chunks`` (the top output buffer's list); called any
 * other way, it calls ``fallback`` (Runtime.echo) with the same arguments.
 * A builtin function, so that CPython calls it through its fastest path.
 * Optional: phprt works without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* ``self`` is the tuple (chunks, fallback). */
static PyObject *
echo(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs == 1 && PyUnicode_CheckExact(args[0])) {
        if (PyList_Append(PyTuple_GET_ITEM(self, 0), args[0]) < 0) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    return PyObject_Vectorcall(PyTuple_GET_ITEM(self, 1), args, nargs, NULL);
}

static PyMethodDef echo_def = {
    "echo", (PyCFunction)(void (*)(void))echo, METH_FASTCALL,
    PyDoc_STR("PHP's echo: write each argument, converted as PHP converts it (OUT-ECHO-1)."),
};

static PyObject *
echo_into(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_CheckExact(args[0]) || !PyCallable_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "echo_into(chunks: list, fallback: callable)");
        return NULL;
    }
    PyObject *state = PyTuple_Pack(2, args[0], args[1]);
    if (state == NULL) {
        return NULL;
    }
    PyObject *function = PyCFunction_New(&echo_def, state);
    Py_DECREF(state);
    return function;
}

static PyMethodDef functions[] = {
    {"echo_into", (PyCFunction)(void (*)(void))echo_into, METH_FASTCALL,
     PyDoc_STR("echo_into(chunks, fallback) -> the fast echo for one output buffer.")},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups = {
    PyModuleDef_HEAD_INIT, "phprt._speedups", "phprt's optional C fast path.", -1, functions,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&speedups);
}
