/* A lane's end in C (PERF-CLASS-4).
 *
 * At a request's end a lane compares what it watches with what an earlier end found
 * (engine/classes.py, PERF-CLASS-2). Those comparisons are loops over every kept class, and
 * here they are loops in C with the results of engine/classes.py's Python ones:
 *
 * refcounts(objects) is list(map(sys.getrefcount, objects)): each object's reference count as
 * the list holds it, and the one the call to sys.getrefcount() holds; same_counts(objects, counts)
 * is refcounts(objects) == counts, with no list made (so for objects a list of counts cannot refer
 * to: not ints, as a lane's are its classes, their dicts, tuples and functions).
 *
 * same_dicts(dicts, made) is dicts == made for two lists of dicts: two dicts with the same keys in the
 * same order are compared pair by pair (a value the same object: equal at once), others as ==
 * compares them.
 *
 * same_names(classes, names) is whether each of the first len(names) classes has the
 * (__name__, __qualname__, __bases__) of names[i], compared as == compares the tuples.
 *
 * as_made(copies) is all(_as_made(kept.type_dict, *rest) for kept, *rest in copies): whether each
 * kept class's list, dict and set is as made and the class's alone, so that nothing is to be set
 * back. Where the C loop meets what it does not know it answers False, and _set_back() decides.
 *
 * Optional: phprt works without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <marshal.h>

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

/* Whether a call's arguments are two lists; else a TypeError naming ``usage`` */
static int
two_lists(PyObject *const *args, Py_ssize_t nargs, const char *usage)
{
    if (nargs != 2 || !PyList_CheckExact(args[0]) || !PyList_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, usage);
        return 0;
    }
    return 1;
}

static PyObject *
same_counts(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!two_lists(args, nargs, "same_counts(objects: list, counts: list)")) {
        return NULL;
    }
    PyObject *objects = args[0], *counts = args[1];
    if (PyList_GET_SIZE(objects) != PyList_GET_SIZE(counts)) {
        Py_RETURN_FALSE;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(objects); i++) {
        /* the list's reference, and the one refcounts() holds while it counts */
        Py_ssize_t found = Py_REFCNT(PyList_GET_ITEM(objects, i)) + 1;
        PyObject *count = PyList_GET_ITEM(counts, i);
        if (PyLong_CheckExact(count)) {
            int overflow;
            if (PyLong_AsLongLongAndOverflow(count, &overflow) != found || overflow) {
                Py_RETURN_FALSE;
            }
            continue;
        }
        /* another number (a float, a bool): compared as == compares it with refcounts()'s int */
        PyObject *made = PyLong_FromSsize_t(found);
        Py_INCREF(count);
        int equal = made == NULL ? -1 : PyObject_RichCompareBool(made, count, Py_EQ);
        Py_XDECREF(made);
        Py_DECREF(count);
        if (equal <= 0) {
            return equal < 0 ? NULL : Py_NewRef(Py_False);
        }
        if (PyList_GET_SIZE(objects) != PyList_GET_SIZE(counts)) {  /* == may run code */
            Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
}

/* 1 when ``a == b``, 0 when not, -1 on an error: identity first, as == of tuples compares */
static int
same(PyObject *a, PyObject *b)
{
    return a == b ? 1 : PyObject_RichCompareBool(a, b, Py_EQ);
}

/* ``a == b`` of two dicts whose keys are the same objects in the same order (a class's dict and the
   copy of it made with the class), pair by pair: 1 or 0, -1 on an error, 2 where the keys differ in
   number, identity or order -- or an == changed a dict's size -- and the dicts are to be compared as
   == compares them. Equal pairs are equal dicts: == looks up each key of one in the other. */
static int
paired_equal(PyObject *a, PyObject *b)
{
    Py_ssize_t size = PyDict_GET_SIZE(a);
    if (PyDict_GET_SIZE(b) != size) {
        return 2;
    }
    Py_ssize_t at = 0, bt = 0;
    PyObject *akey, *avalue, *bkey, *bvalue;
    while (PyDict_Next(a, &at, &akey, &avalue)) {
        if (!PyDict_Next(b, &bt, &bkey, &bvalue) || akey != bkey) {
            return 2;
        }
        if (avalue == bvalue) {
            continue;
        }
        Py_INCREF(avalue);
        Py_INCREF(bvalue);
        int equal = PyObject_RichCompareBool(avalue, bvalue, Py_EQ);
        Py_DECREF(avalue);
        Py_DECREF(bvalue);
        if (equal < 0) {
            return -1;
        }
        if (PyDict_GET_SIZE(a) != size || PyDict_GET_SIZE(b) != size) {
            return 2;
        }
        if (!equal) {
            return 0;
        }
    }
    return 1;
}

static PyObject *
same_dicts(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!two_lists(args, nargs, "same_dicts(dicts: list, made: list)")) {
        return NULL;
    }
    PyObject *dicts = args[0], *made = args[1];
    if (PyList_GET_SIZE(dicts) != PyList_GET_SIZE(made)) {
        Py_RETURN_FALSE;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(dicts) && i < PyList_GET_SIZE(made); i++) {
        PyObject *a = Py_NewRef(PyList_GET_ITEM(dicts, i)), *b = Py_NewRef(PyList_GET_ITEM(made, i));
        int equal = a == b ? 1 : PyDict_CheckExact(a) && PyDict_CheckExact(b) ? paired_equal(a, b) : 2;
        if (equal == 2) {
            equal = PyObject_RichCompareBool(a, b, Py_EQ);
        }
        Py_DECREF(a);
        Py_DECREF(b);
        if (equal <= 0) {
            return equal < 0 ? NULL : Py_NewRef(Py_False);
        }
    }
    /* an == above may have run code that changed a list's length: lists of two lengths */
    return Py_NewRef(PyList_GET_SIZE(dicts) == PyList_GET_SIZE(made) ? Py_True : Py_False);
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
    if (!two_lists(args, nargs, "same_names(classes: list, names: list)")) {
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

/* 1 when the dicts ``value`` and ``made`` are equal with their keys in the order of the list ``keys``
   (``value == made and list(value) == keys``), 0 when not, -1 on an error */
static int
dict_as_made(PyObject *value, PyObject *made, PyObject *keys)
{
    if (!PyDict_CheckExact(made) || !PyList_CheckExact(keys)) {
        return 0;
    }
    int equal = PyObject_RichCompareBool(value, made, Py_EQ);
    if (equal <= 0 || PyDict_GET_SIZE(value) != PyList_GET_SIZE(keys)) {
        return equal < 0 ? -1 : 0;
    }
    Py_ssize_t position = 0, index = 0;
    PyObject *key, *item;
    while (PyDict_Next(value, &position, &key, &item)) {
        Py_INCREF(key);  /* a key's == may run code that changes the dict */
        equal = same(key, PyList_GET_ITEM(keys, index++));
        Py_DECREF(key);
        if (equal <= 0 || PyDict_GET_SIZE(value) != PyList_GET_SIZE(keys)) {
            return equal < 0 ? -1 : 0;
        }
    }
    return 1;
}

static PyObject *type_dict_name;  /* "type_dict": a _Kept's class's own dict */

/* 1 when ``value``, what a kept class's dict holds for one of its lists, dicts and sets (``copy``:
   kept, name, made, dump, keys, nested), is as made and the class's alone; 0 when not */
static int
value_as_made(PyObject *value, PyObject *copy)
{
    PyObject *made = PyTuple_GET_ITEM(copy, 2), *dump = PyTuple_GET_ITEM(copy, 3);
    if (dump == Py_None) {
        return PyDict_CheckExact(value) ? dict_as_made(value, made, PyTuple_GET_ITEM(copy, 4)) : 0;
    }
    /* the class's reference alone: sys.getrefcount() 3 in the Python loop, which holds two more */
    if (PyTuple_GET_ITEM(copy, 5) != Py_False || !PyBytes_CheckExact(dump) || Py_REFCNT(value) != 1) {
        return 0;
    }
    PyTypeObject *kind = Py_TYPE(made);
    if (kind != &PyList_Type && kind != &PyDict_Type && kind != &PySet_Type) {
        return 0;
    }
    int full = PyObject_IsTrue(made);
    if (full <= 0) {  /* empty as made: empty now, of the same type (the exact types' __class__) */
        return full < 0 ? -1 : Py_TYPE(value) == kind && PyObject_Length(value) == 0;
    }
    Py_INCREF(value);
    PyObject *dumped = PyMarshal_WriteObjectToString(value, 2);
    Py_DECREF(value);
    if (dumped == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_ValueError)) {  /* _dumped() answers None for a ValueError alone */
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    int equal = same(dumped, dump);
    Py_DECREF(dumped);
    return equal;
}

/* _as_made() of one copy: 1, 0, or -1 on an error */
static int
copy_as_made(PyObject *copy)
{
    if (!PyTuple_CheckExact(copy) || PyTuple_GET_SIZE(copy) != 6) {
        return 0;
    }
    PyObject *type_dict = PyObject_GetAttr(PyTuple_GET_ITEM(copy, 0), type_dict_name);
    if (type_dict == NULL) {
        return -1;
    }
    int equal = 0;
    if (PyDict_CheckExact(type_dict)) {
        PyObject *value = PyDict_GetItemWithError(type_dict, PyTuple_GET_ITEM(copy, 1));
        equal = value != NULL ? value_as_made(value, copy) : PyErr_Occurred() ? -1 : 0;
    }
    Py_DECREF(type_dict);
    return equal;
}

static PyObject *
as_made(PyObject *module, PyObject *copies)
{
    if (!PyList_CheckExact(copies)) {
        PyErr_SetString(PyExc_TypeError, "as_made(copies: list)");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(copies); i++) {
        PyObject *copy = Py_NewRef(PyList_GET_ITEM(copies, i));
        int equal = copy_as_made(copy);
        Py_DECREF(copy);
        if (equal <= 0) {
            return equal < 0 ? NULL : Py_NewRef(Py_False);
        }
    }
    Py_RETURN_TRUE;
}

static PyMethodDef methods[] = {
    {"as_made", as_made, METH_O,
     "as_made(copies, /)\n--\n\nWhether each kept list, dict and set is as made and its class's alone."},
    {"same_counts", (PyCFunction)(void (*)(void))same_counts, METH_FASTCALL,
     "same_counts(objects, counts, /)\n--\n\nlist(map(sys.getrefcount, objects)) == counts."},
    {"same_dicts", (PyCFunction)(void (*)(void))same_dicts, METH_FASTCALL,
     "same_dicts(dicts, made, /)\n--\n\ndicts == made, for two lists of dicts."},
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
    type_dict_name = PyUnicode_InternFromString("type_dict");
    if (type_dict_name == NULL) {
        return NULL;
    }
    PyObject *created = PyModule_Create(&module);
    if (created != NULL && PyModule_AddIntConstant(created, "VERSION", 3) < 0) {
        Py_DECREF(created);
        return NULL;
    }
    return created;
}
