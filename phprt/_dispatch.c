/* phprt.php's functions in C (PERF-CALL-4).
 *
 * function(name, active, fallback, no_arguments, module, doc) returns a callable named
 * ``name`` that does what phprt/php.py's copy of _call does: it calls the method ``name``
 * of the Runtime ``active`` (a ContextVar) holds, looked up as an attribute written in
 * code is (an instance's own attribute first), with the arguments it was given and no
 * more, and returns what it returns. With no active Runtime, or any argument for a
 * function of none (``no_arguments``), it calls ``fallback`` -- that Python copy -- with
 * the same arguments, which raises RuntimeError or TypeError as it always does.
 * phprt/php.py uses it only where the method's own frame shows what the port passed (a
 * method of no named parameter but ``self``, or of named ones without defaults), so that
 * PHP's trace, read from that frame, is the same with it as without it.
 *
 * direct(name, active, fallback, module, doc) returns echo's function (PERF-CALL-5,
 * PERF-CALL-6): ``active`` holds the callable itself -- the echo the active Runtime started
 * its request with -- called with the arguments as they are, and ``fallback`` (phprt/php.py's
 * _echo) where it holds none. A builtin function, so that CPython calls it by its fastest
 * path, which calls a builtin echo's C function at once; one per process (echo's), what it
 * calls held in this module's statics.
 * Optional: phprt works without it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "structmember.h"

typedef struct {
    PyObject_HEAD
    PyObject *name;      /* the PHP function's name, the Runtime method's */
    PyObject *active;    /* phprt.engine.runtime.ACTIVE */
    PyObject *fallback;  /* phprt/php.py's copy of _call for this name */
    PyObject *module;    /* "phprt.php" */
    PyObject *doc;
    int no_arguments;
    vectorcallfunc vectorcall;
} Function;

static PyObject *
function_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Function *self = (Function *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    PyObject *runtime = NULL;
    if (!(self->no_arguments && nargs + nkw > 0)) {
        if (PyContextVar_Get(self->active, NULL, &runtime) < 0) {
            return NULL;
        }
    }
    if (runtime == NULL || runtime == Py_None) {
        Py_XDECREF(runtime);
        return PyObject_Vectorcall(self->fallback, args, nargsf, kwnames);
    }
    PyObject *result;
    if (nargsf & PY_VECTORCALL_ARGUMENTS_OFFSET) {
        /* the slot before the arguments is ours for the call: the Runtime goes there */
        PyObject **slot = (PyObject **)args - 1;
        PyObject *saved = *slot;
        *slot = runtime;
        result = PyObject_VectorcallMethod(self->name, slot, (nargs + 1) | PY_VECTORCALL_ARGUMENTS_OFFSET, kwnames);
        *slot = saved;
    }
    else {
        PyObject *small[8];
        PyObject **stack = small;
        Py_ssize_t total = nargs + nkw + 1;
        if (total > 8) {
            stack = PyMem_New(PyObject *, total);
            if (stack == NULL) {
                Py_DECREF(runtime);
                return PyErr_NoMemory();
            }
        }
        stack[0] = runtime;
        for (Py_ssize_t i = 0; i < nargs + nkw; i++) {
            stack[i + 1] = args[i];
        }
        result = PyObject_VectorcallMethod(self->name, stack, nargs + 1, kwnames);
        if (stack != small) {
            PyMem_Free(stack);
        }
    }
    Py_DECREF(runtime);
    return result;
}

static int
function_traverse(Function *self, visitproc visit, void *arg)
{
    Py_VISIT(self->active);
    Py_VISIT(self->fallback);
    return 0;
}

static int
function_clear(Function *self)
{
    Py_CLEAR(self->active);
    Py_CLEAR(self->fallback);
    return 0;
}

static void
function_dealloc(Function *self)
{
    PyObject_GC_UnTrack(self);
    function_clear(self);
    Py_CLEAR(self->name);
    Py_CLEAR(self->module);
    Py_CLEAR(self->doc);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
function_repr(Function *self)
{
    return PyUnicode_FromFormat("<function %U.%U>", self->module, self->name);
}

static PyObject *
function_reduce(Function *self, PyObject *unused)
{
    return Py_NewRef(self->name);  /* pickled by name, as the Python copy is: phprt.php.NAME */
}

static PyMethodDef function_methods[] = {
    {"__reduce__", (PyCFunction)function_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef function_members[] = {
    {"__wrapped__", T_OBJECT, offsetof(Function, fallback), READONLY, NULL},  /* inspect.signature() reads it */
    {"__name__", T_OBJECT, offsetof(Function, name), READONLY, NULL},
    {"__qualname__", T_OBJECT, offsetof(Function, name), READONLY, NULL},
    {"__module__", T_OBJECT, offsetof(Function, module), READONLY, NULL},
    {"__doc__", T_OBJECT, offsetof(Function, doc), READONLY, NULL},
    {NULL},
};

static PyTypeObject FunctionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "phprt._dispatch.function",
    .tp_basicsize = sizeof(Function),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = PyDoc_STR("A phprt.php function: the active Runtime's method of its name."),
    .tp_vectorcall_offset = offsetof(Function, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_traverse = (traverseproc)function_traverse,
    .tp_clear = (inquiry)function_clear,
    .tp_dealloc = (destructor)function_dealloc,
    .tp_repr = (reprfunc)function_repr,
    .tp_members = function_members,
    .tp_methods = function_methods,
};

static PyObject *
make_function(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyUnicode_CheckExact(args[0]) || !PyContextVar_CheckExact(args[1])
        || !PyCallable_Check(args[2]) || !PyUnicode_CheckExact(args[4])) {
        PyErr_SetString(PyExc_TypeError, "function(name: str, active: ContextVar, fallback, no_arguments: bool, "
                                         "module: str, doc)");
        return NULL;
    }
    int no_arguments = PyObject_IsTrue(args[3]);
    if (no_arguments < 0) {
        return NULL;
    }
    Function *self = PyObject_GC_New(Function, &FunctionType);
    if (self == NULL) {
        return NULL;
    }
    self->name = Py_NewRef(args[0]);
    PyUnicode_InternInPlace(&self->name);  /* the method's name, as an attribute written in code is */
    self->active = Py_NewRef(args[1]);
    self->fallback = Py_NewRef(args[2]);
    self->no_arguments = no_arguments;
    self->module = Py_NewRef(args[4]);
    self->doc = Py_NewRef(args[5]);
    self->vectorcall = function_vectorcall;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

/* -- echo's function: a builtin over a ContextVar that holds the callable (PERF-CALL-6) -- */

/* The one direct function's (echo's): what it calls, and its name and doc. A later direct()
 * (phprt.php made again) remakes them, for the functions made before it too. */
static struct {
    PyMethodDef def;     /* ml_name and ml_doc: the UTF-8 of name and doc */
    PyObject *name;
    PyObject *doc;       /* "name(*args, **kwargs)\n--\n\n" and the doc: a builtin's text signature */
    PyObject *active;    /* phprt.engine.runtime.ECHO */
    PyObject *fallback;  /* phprt/php.py's _echo */
} direct_state;

static PyObject *
direct_call(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *callable = NULL;
    if (PyContextVar_Get(direct_state.active, NULL, &callable) < 0) {
        return NULL;
    }
    if (callable == NULL || callable == Py_None) {
        Py_XDECREF(callable);
        return PyObject_Vectorcall(direct_state.fallback, args, nargs, kwnames);
    }
    PyObject *result;
    if (kwnames == NULL && PyCFunction_CheckExact(callable) && PyCFunction_GET_FLAGS(callable) == METH_FASTCALL) {
        /* a builtin echo (phprt/output/_speedups.c's): its C function, at once */
        _PyCFunctionFast call = (_PyCFunctionFast)(void (*)(void))PyCFunction_GET_FUNCTION(callable);
        result = call(PyCFunction_GET_SELF(callable), args, nargs);
    }
    else {
        result = PyObject_Vectorcall(callable, args, nargs, kwnames);
    }
    Py_DECREF(callable);
    return result;
}

static PyObject *
make_direct(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyUnicode_CheckExact(args[0]) || !PyContextVar_CheckExact(args[1])
        || !PyCallable_Check(args[2]) || !PyUnicode_CheckExact(args[3])
        || !(args[4] == Py_None || PyUnicode_CheckExact(args[4]))) {
        PyErr_SetString(PyExc_TypeError, "direct(name: str, active: ContextVar, fallback, module: str, doc: str | None)");
        return NULL;
    }
    PyObject *doc = args[4] == Py_None ? PyUnicode_FromFormat("%U(*args, **kwargs)\n--\n\n", args[0])
                                       : PyUnicode_FromFormat("%U(*args, **kwargs)\n--\n\n%U", args[0], args[4]);
    const char *name_text = PyUnicode_AsUTF8(args[0]);
    const char *doc_text = doc == NULL ? NULL : PyUnicode_AsUTF8(doc);
    if (name_text == NULL || doc_text == NULL) {
        Py_XDECREF(doc);
        return NULL;
    }
    direct_state.def.ml_name = name_text;  /* the new name's and doc's, before the old ones go */
    direct_state.def.ml_doc = doc_text;
    direct_state.def.ml_meth = (PyCFunction)(void (*)(void))direct_call;
    direct_state.def.ml_flags = METH_FASTCALL | METH_KEYWORDS;
    Py_XSETREF(direct_state.name, Py_NewRef(args[0]));  /* kept: the def's name and doc are theirs */
    Py_XSETREF(direct_state.doc, doc);
    Py_XSETREF(direct_state.active, Py_NewRef(args[1]));
    Py_XSETREF(direct_state.fallback, Py_NewRef(args[2]));
    /* bound to this module: named, shown and pickled as a module's builtin function is */
    return PyCFunction_NewEx(&direct_state.def, module, args[3]);
}

static PyMethodDef functions[] = {
    {"function", (PyCFunction)(void (*)(void))make_function, METH_FASTCALL,
     PyDoc_STR("function(name, active, fallback, no_arguments, module, doc) -> a phprt.php function.")},
    {"direct", (PyCFunction)(void (*)(void))make_direct, METH_FASTCALL,
     PyDoc_STR("direct(name, active, fallback, module, doc) -> a phprt.php function calling what active holds.")},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef dispatch = {
    PyModuleDef_HEAD_INIT, "phprt._dispatch", "phprt.php's functions in C (optional).", -1, functions,
};

PyMODINIT_FUNC
PyInit__dispatch(void)
{
    if (PyType_Ready(&FunctionType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&dispatch);
    if (module != NULL && PyModule_AddIntConstant(module, "VERSION", 3) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
