/* The echo fast path in C (PERF-ECHO-1, PERF-ECHO-2).
 *
 * echo_into(target, fallback) returns a builtin function that behaves exactly like
 * the closure output/functions.py's _python_echo() otherwise makes: called with one
 * exact str while target[0] is a list (OutputStack.target: the top buffer's chunk
 * list, when a write may simply be appended to it), it appends the str to that list;
 * called any other way, it calls ``fallback`` (Runtime.echo) with the same arguments.
 * A builtin function, so that CPython calls it through its fastest path; made once
 * per request, as ``target`` follows the stack.
 * Optional: phprt works without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* ``self`` is the tuple (target, fallback). */
static PyObject *
echo(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *target = PyTuple_GET_ITEM(self, 0);
    if (nargs == 1 && PyUnicode_CheckExact(args[0]) && PyList_GET_SIZE(target) > 0) {
        PyObject *chunks = PyList_GET_ITEM(target, 0);
        if (PyList_CheckExact(chunks)) {
            if (PyList_Append(chunks, args[0]) < 0) {
                return NULL;
            }
            Py_RETURN_NONE;
        }
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
        PyErr_SetString(PyExc_TypeError, "echo_into(target: list, fallback: callable)");
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
     PyDoc_STR("echo_into(target, fallback) -> the fast echo of one request's output stack.")},
    {NULL, NULL, 0, NULL},
};

/* Version 2: echo_into takes the stack's target cell, not one buffer's chunk list. */
static struct PyModuleDef speedups = {
    PyModuleDef_HEAD_INIT, "phprt._speedups", "phprt's optional C fast path.", -1, functions,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *module = PyModule_Create(&speedups);
    if (module != NULL && PyModule_AddIntConstant(module, "VERSION", 2) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
