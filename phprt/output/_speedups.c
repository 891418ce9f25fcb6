/* The echo fast path in C (PERF-ECHO-1, PERF-ECHO-2, PERF-ECHO-4).
 *
 * echo_into(target, fallback) returns a builtin function that behaves exactly like
 * the closure output/functions.py's _python_echo() otherwise makes: called with one
 * exact str while target[0] is a list (OutputStack.target: the top buffer's chunk
 * list, when a write may simply be appended to it), it appends the str to that list;
 * called any other way, it calls ``fallback`` (Runtime.echo) with the same arguments.
 * A builtin function, so that CPython calls it through its fastest path; made once
 * per request, as ``target`` follows the stack.
 *
 * join_text(first, more, limit) is output/functions.py's _python_join_text(): echo's
 * values as one str -- each an exact str, or an exact int in decimal -- or None when a
 * value is anything else or the str would be longer than ``limit`` characters.
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

/* The decimal text of an exact int, or the str itself; NULL (no exception) for another type. */
static PyObject *
text_of(PyObject *value)
{
    if (PyUnicode_CheckExact(value)) {
        return Py_NewRef(value);
    }
    if (PyLong_CheckExact(value)) {
        return PyObject_Str(value);
    }
    return NULL;
}

static PyObject *
join_text(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyTuple_CheckExact(args[1]) || !PyLong_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "join_text(first, more: tuple, limit: int)");
        return NULL;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(args[2]);
    if (limit == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(args[1]) + 1;
    PyObject *parts = PyList_New(count);
    if (parts == NULL) {
        return NULL;
    }
    Py_ssize_t length = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *text = text_of(i == 0 ? args[0] : PyTuple_GET_ITEM(args[1], i - 1));
        if (text == NULL) {
            Py_DECREF(parts);
            if (PyErr_Occurred()) {  /* str() of an int past sys.get_int_max_str_digits() */
                return NULL;
            }
            Py_RETURN_NONE;
        }
        PyList_SET_ITEM(parts, i, text);
        length += PyUnicode_GET_LENGTH(text);
    }
    if (length > limit) {
        Py_DECREF(parts);
        Py_RETURN_NONE;
    }
    PyObject *empty = PyUnicode_New(0, 0);
    PyObject *joined = empty == NULL ? NULL : PyUnicode_Join(empty, parts);
    Py_XDECREF(empty);
    Py_DECREF(parts);
    return joined;
}

static PyMethodDef functions[] = {
    {"echo_into", (PyCFunction)(void (*)(void))echo_into, METH_FASTCALL,
     PyDoc_STR("echo_into(target, fallback) -> the fast echo of one request's output stack.")},
    {"join_text", (PyCFunction)(void (*)(void))join_text, METH_FASTCALL,
     PyDoc_STR("join_text(first, more, limit) -> echo's str and int values as one str, or None.")},
    {NULL, NULL, 0, NULL},
};

/* Version 2: echo_into takes the stack's target cell, not one buffer's chunk list.
 * Version 3: join_text. */
static struct PyModuleDef speedups = {
    PyModuleDef_HEAD_INIT, "phprt._speedups", "phprt's optional C fast path.", -1, functions,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *module = PyModule_Create(&speedups);
    if (module != NULL && PyModule_AddIntConstant(module, "VERSION", 3) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
