/* A lane's end in C (PERF-CLASS-4).
 *
 * At a request's end a lane compares what it watches with what an earlier end found
 * (engine/classes.py, PERF-CLASS-2). Two of those comparisons are loops over every kept
 * class, and here they are loops in C with the results of engine/classes.py's Python ones:
 *
 * refcounts(objects) is list(map(sys.getrefcount, objects)): each object's reference count as
 * the list holds it, and the one the call to sys.getrefcount() holds.
 *
 * same_names(classes, names) is whether each of the first len(names) classes has the
 * (__name__, __qualname__, __bases__) of names[i], compared as == compares the tuples.
 *
 * Optional: phprt works without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *
refcounts(PyObject *module, PyObject *objects)
{
    if (!PyList_CheckExact(objects)) {
        PyErr_SetString(PyExc_TypeError, "refcounts(objects: list)");
        return NULL;
    }
    Py_ssize_t size = PyList_GET_SIZE(objects);
    PyObject *counts = PyList_New(size);
    if (counts == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < size; i++) {
        /* counted holding a reference of our own, as sys.getrefcount()'s call holds its argument
           (an immortal object's count, 3.12's, does not move) */
        PyObject *object = Py_NewRef(PyList_GET_ITEM(objects, i));
        PyObject *count = PyLong_FromSsize_t(Py_REFCNT(object));
        Py_DECREF(object);
        if (count == NULL) {
            Py_DECREF(counts);
            return NULL;
        }
        PyList_SET_ITEM(counts, i, count);
    }
    return counts;
}

/* 1 when ``a == b``, 0 when not, -1 on an error: identity first, as == of tuples compares */
static int
same(PyObject *a, PyObject *b)
{
    return a == b ? 1 : PyObject_RichCompareBool(a, b, Py_EQ);
}

/* same() of (cls.__name__, cls.__qualname__, cls.__bases__), read as attributes, and ``expected`` */
static int
same_as_read(PyObject *cls, PyObject *expected)
{
    PyObject *name = PyObject_GetAttrString(cls, "__name__");
    PyObject *qualname = name == NULL ? NULL : PyObject_GetAttrString(cls, "__qualname__");
    PyObject *bases = qualname == NULL ? NULL : PyObject_GetAttrString(cls, "__bases__");
    PyObject *found = bases == NULL ? NULL : PyTuple_Pack(3, name, qualname, bases);
    Py_XDECREF(name);
    Py_XDECREF(qualname);
    Py_XDECREF(bases);
    if (found == NULL) {
        return -1;
    }
    int equal = same(found, expected);
    Py_DECREF(found);
    return equal;
}

static PyObject *
same_names(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_CheckExact(args[0]) || !PyList_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "same_names(classes: list, names: list)");
        return NULL;
    }
    PyObject *classes = args[0], *names = args[1];
    if (PyList_GET_SIZE(names) > PyList_GET_SIZE(classes)) {
        Py_RETURN_FALSE;  /* fewer classes than names: lists of two lengths */
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(names); i++) {
        PyObject *cls = PyList_GET_ITEM(classes, i);
        PyObject *expected = PyList_GET_ITEM(names, i);
        if (!PyType_Check(cls) || !(((PyTypeObject *)cls)->tp_flags & Py_TPFLAGS_HEAPTYPE)
            || !PyTuple_CheckExact(expected) || PyTuple_GET_SIZE(expected) != 3) {
            /* not what a class statement makes, or not what the lane took: the Python way */
            int equal = same_as_read(cls, expected);
            if (equal <= 0) {
                return equal < 0 ? NULL : Py_NewRef(Py_False);
            }
            continue;
        }
        PyHeapTypeObject *type = (PyHeapTypeObject *)cls;
        PyObject *now[3] = {type->ht_name, type->ht_qualname, type->ht_type.tp_bases};
        for (int k = 0; k < 3; k++) {
            int equal = same(now[k], PyTuple_GET_ITEM(expected, k));
            if (equal <= 0) {
                return equal < 0 ? NULL : Py_NewRef(Py_False);
            }
        }
    }
    Py_RETURN_TRUE;
}

static PyMethodDef methods[] = {
    {"refcounts", refcounts, METH_O,
     "refcounts(objects, /)\n--\n\nlist(map(sys.getrefcount, objects))."},
    {"same_names", (PyCFunction)(void (*)(void))same_names, METH_FASTCALL,
     "same_names(classes, names, /)\n--\n\n"
     "Whether each of the first len(names) classes has the (__name__, __qualname__, __bases__) of names[i]."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "phprt.engine._speedups", "A lane's end in C (PERF-CLASS-4); optional.", -1, methods,
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
