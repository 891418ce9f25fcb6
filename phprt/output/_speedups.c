/* The echo fast path in C (PERF-ECHO-1, PERF-ECHO-2, PERF-ECHO-4, PERF-OB-4).
 *
 * echo_into(target, fallback, limit) returns a builtin function that behaves exactly like
 * the closure output/functions.py's _python_echo() otherwise makes: called while
 * target[0] is a list (OutputStack.target: the top buffer's chunk list, when a write may
 * simply be appended to it) with one exact str, or with several values that join_text()
 * joins into one str of at most ``limit`` characters, it appends the str to that list --
 * where target[1] is an int (the room a chunk size leaves), only an ASCII str shorter
 * than it, and takes its length off; called any other way, it calls ``fallback``
 * (Runtime.echo) with the same arguments.
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

/* The values as one str -- each an exact str, or an exact int in decimal -- or NULL: with an
 * exception set (str() of an int past sys.get_int_max_str_digits()), or none where a value is
 * anything else or the str would be longer than ``limit`` characters. */
static PyObject *
joined(PyObject *const *values, Py_ssize_t count, Py_ssize_t limit)
{
    /* Made at once, as PyUnicode_Join() would make it -- the widest part's kind, so the same
     * canonical str -- without its list and its generality (PERF-ECHO-4). */
    PyObject *few[8];
    PyObject **texts = count <= 8 ? few : PyMem_New(PyObject *, count);
    if (texts == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *result = NULL;
    Py_ssize_t made = 0, length = 0;
    Py_UCS4 widest = 0;
    for (; made < count; made++) {
        PyObject *text = text_of(values[made]);
        if (text == NULL) {
            goto done;
        }
        texts[made] = text;
        length += PyUnicode_GET_LENGTH(text);
        if (PyUnicode_MAX_CHAR_VALUE(text) > widest) {
            widest = PyUnicode_MAX_CHAR_VALUE(text);
        }
    }
    if (length > limit) {
        goto done;
    }
    result = PyUnicode_New(length, widest);
    if (result == NULL) {
        goto done;
    }
    Py_ssize_t at = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t size = PyUnicode_GET_LENGTH(texts[i]);
        if (widest < 256) {  /* every part one byte a character, as the result */
            memcpy(PyUnicode_1BYTE_DATA(result) + at, PyUnicode_1BYTE_DATA(texts[i]), size);
        }
        else if (PyUnicode_CopyCharacters(result, at, texts[i], 0, size) < 0) {
            Py_CLEAR(result);
            goto done;
        }
        at += size;
    }
done:
    for (Py_ssize_t i = 0; i < made; i++) {
        Py_DECREF(texts[i]);
    }
    if (texts != few) {
        PyMem_Free(texts);
    }
    return result;
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
    PyObject **values = PyMem_New(PyObject *, count);
    if (values == NULL) {
        return PyErr_NoMemory();
    }
    values[0] = args[0];
    for (Py_ssize_t i = 1; i < count; i++) {
        values[i] = PyTuple_GET_ITEM(args[1], i - 1);
    }
    PyObject *result = joined(values, count, limit);
    PyMem_Free(values);
    if (result == NULL && !PyErr_Occurred()) {
        Py_RETURN_NONE;
    }
    return result;
}

/* Append ``text`` to ``chunks`` where the room ``target[1]`` allows it (None: any room); 1 when
 * it was, 0 when not, -1 on an error. */
static int
append_into(PyObject *target, PyObject *chunks, PyObject *text)
{
    PyObject *room = PyList_GET_ITEM(target, 1);
    if (room == Py_None) {
        return PyList_Append(chunks, text) < 0 ? -1 : 1;
    }
    if (!PyLong_CheckExact(room) || !PyUnicode_IS_ASCII(text)) {
        return 0;
    }
    Py_ssize_t left = PyLong_AsSsize_t(room);
    if (left == -1 && PyErr_Occurred()) {
        return -1;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    if (length >= left) {
        return 0;
    }
    PyObject *rest = PyLong_FromSsize_t(left - length);
    if (rest == NULL || PyList_Append(chunks, text) < 0) {
        Py_XDECREF(rest);
        return -1;
    }
    PyList_SET_ITEM(target, 1, rest);  /* steals rest; the list's old room is let go */
    Py_DECREF(room);
    return 1;
}

/* ``self`` is the tuple (target, fallback, limit). */
static PyObject *
echo(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *target = PyTuple_GET_ITEM(self, 0);
    if (nargs >= 1 && PyList_GET_SIZE(target) > 1 && PyList_CheckExact(PyList_GET_ITEM(target, 0))) {
        PyObject *chunks = PyList_GET_ITEM(target, 0);
        int done;
        if (nargs == 1) {
            if (!PyUnicode_CheckExact(args[0])) {
                goto slow;
            }
            done = append_into(target, chunks, args[0]);
        }
        else {
            PyObject *text = joined(args, nargs, PyLong_AsSsize_t(PyTuple_GET_ITEM(self, 2)));
            if (text == NULL) {
                if (PyErr_Occurred()) {
                    return NULL;
                }
                goto slow;
            }
            done = append_into(target, chunks, text);
            Py_DECREF(text);
        }
        if (done < 0) {
            return NULL;
        }
        if (done) {
            Py_RETURN_NONE;
        }
    }
slow:
    return PyObject_Vectorcall(PyTuple_GET_ITEM(self, 1), args, nargs, NULL);
}

static PyMethodDef echo_def = {
    "echo", (PyCFunction)(void (*)(void))echo, METH_FASTCALL,
    PyDoc_STR("PHP's echo: write each argument, converted as PHP converts it (OUT-ECHO-1)."),
};

static PyObject *
echo_into(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyList_CheckExact(args[0]) || !PyCallable_Check(args[1]) || !PyLong_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "echo_into(target: list, fallback: callable, limit: int)");
        return NULL;
    }
    PyObject *state = PyTuple_Pack(3, args[0], args[1], args[2]);
    if (state == NULL) {
        return NULL;
    }
    PyObject *function = PyCFunction_New(&echo_def, state);
    Py_DECREF(state);
    return function;
}

static PyMethodDef functions[] = {
    {"echo_into", (PyCFunction)(void (*)(void))echo_into, METH_FASTCALL,
     PyDoc_STR("echo_into(target, fallback, limit) -> the fast echo of one request's output stack.")},
    {"join_text", (PyCFunction)(void (*)(void))join_text, METH_FASTCALL,
     PyDoc_STR("join_text(first, more, limit) -> echo's str and int values as one str, or None.")},
    {NULL, NULL, 0, NULL},
};

/* Version 2: echo_into takes the stack's target cell, not one buffer's chunk list.
 * Version 3: join_text.
 * Version 4: the target cell holds the room a chunk size leaves, as its second item; echo_into
 * takes the longest joined str, and the echo it makes joins several values. */
static struct PyModuleDef speedups = {
    PyModuleDef_HEAD_INIT, "phprt._speedups", "phprt's optional C fast path.", -1, functions,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    PyObject *module = PyModule_Create(&speedups);
    if (module != NULL && PyModule_AddIntConstant(module, "VERSION", 4) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
