/*
 * _tracer._native: tracer's native recording core (docs/internals.md, section 5).
 *
 * It owns the hot path only: the callbacks (sys.monitoring with C callables on 3.12+, the C-level
 * profile hook on 3.8-3.11), one buffer per thread in C memory, call/return pairing, and the
 * filters decided early (include/exclude once per code object, max depth, the cap, min duration).
 * Everything else stays in Python (core_native.py, writer.py): names come from the writer's
 * id_for() / c_function_id(), once per code object or C callable, and finished calls leave as
 * ready `E` payloads (float64 LE: tid, then start_ns, dur_ns, name_id per call) through
 * writer.write_events(), which prepends pending names and does the write. No file I/O here.
 *
 * Threading: every entry point runs with the GIL held (no free-threaded builds: core.py refuses
 * them). The only code that runs without the GIL is the thread-exit destructor, which sets one
 * flag. Calls into Python (names, writes) can release the GIL, so a buffer is emptied before its
 * payload is handed out, and thread records live as Python objects in a list, walked over copies.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#if PY_VERSION_HEX >= 0x030C0000
#define MONITORING 1 /* sys.monitoring (PEP 669) */
#else
#define MONITORING 0 /* PyEval_SetProfile */
#endif

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *
Py_NewRef(PyObject *object)
{
    Py_INCREF(object);
    return object;
}
#endif

#if PY_VERSION_HEX >= 0x030C0000
#define GET_EXTRA PyUnstable_Code_GetExtra
#define SET_EXTRA PyUnstable_Code_SetExtra
#define REQUEST_EXTRA_INDEX PyUnstable_Eval_RequestCodeExtraIndex
#else
#define GET_EXTRA _PyCode_GetExtra
#define SET_EXTRA _PyCode_SetExtra
#define REQUEST_EXTRA_INDEX _PyEval_RequestCodeExtraIndex
#endif

/*
 * The clock: time.perf_counter_ns()'s, which the Python cores, the hooks and the file header use.
 * Read twice per call, it is a good part of the cost of recording one. On x86-64 Linux whose
 * kernel keeps time with the TSC (its clocksource is "tsc": invariant and in step across CPUs),
 * the TSC is read instead (about half the cost of clock_gettime) and mapped to the clock's
 * nanoseconds by a line through anchors: calibrate() takes a (TSC, clock) pair when recording
 * starts and at every flush interval; the slope is measured from the first pair, so it gets more
 * exact as the run goes on, and each new anchor takes the drift of the last interval back to 0.
 * Until the first interval has passed, and elsewhere, clock_gettime (or CPython's clock) is read.
 * The result never goes backwards (a new anchor can move the line a hair).
 */
#if defined(__x86_64__) && defined(__linux__)
#define TSC_CLOCK 1
#include <x86intrin.h>
#else
#define TSC_CLOCK 0
#endif

static struct {
    int usable;             /* the kernel's clocksource is the TSC: 1, not: -1, not read: 0 */
    uint64_t base_tsc;      /* the first pair: the slope is measured from it */
    int64_t base_ns;
    uint64_t anchor_tsc;    /* the last pair: times are mapped from it */
    int64_t anchor_ns;
    double ns_per_tick;     /* 0 until measured over at least MIN_CALIBRATION_NS */
    int64_t last_ns;        /* the latest time given out (all callers hold the GIL) */
} clock_state;

#define MIN_CALIBRATION_NS 20000000LL /* 20 ms */

static inline int64_t
system_ns(void)
{
#if defined(__linux__)
    struct timespec now; /* perf_counter's clock on Linux */
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
#elif PY_VERSION_HEX >= 0x030D0000
    PyTime_t t;
    (void)PyTime_PerfCounterRaw(&t);
    return (int64_t)t;
#else
    return (int64_t)_PyTime_GetPerfCounter();
#endif
}

static inline int64_t
now_ns(void)
{
    int64_t now;
#if TSC_CLOCK
    if (clock_state.ns_per_tick > 0)
        now = clock_state.anchor_ns +
              (int64_t)((double)(int64_t)(__rdtsc() - clock_state.anchor_tsc) *
                        clock_state.ns_per_tick);
    else
#endif
        now = system_ns();
    if (now < clock_state.last_ns)
        return clock_state.last_ns;
    clock_state.last_ns = now;
    return now;
}

/* Takes a new anchor (the first call reads whether the TSC can be used, once per process). */
static void
calibrate(void)
{
#if TSC_CLOCK
    if (clock_state.usable == 0) {
        FILE *source =
            fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
        char name[16] = "";
        if (source != NULL) {
            if (fgets(name, sizeof(name), source) == NULL)
                name[0] = 0;
            fclose(source);
        }
        clock_state.usable = strcmp(name, "tsc\n") == 0 ? 1 : -1;
    }
    if (clock_state.usable < 0)
        return;
    /* The clock read between two TSC reads, at their midpoint; of three tries the tightest (a
     * try the thread was preempted in would put the pair off by half the preemption). */
    uint64_t tsc = 0, spread = UINT64_MAX;
    int64_t ns = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t before = __rdtsc();
        int64_t read = system_ns();
        uint64_t after = __rdtsc();
        if (after - before < spread) {
            spread = after - before;
            tsc = before + spread / 2;
            ns = read;
        }
    }
    if (clock_state.base_tsc == 0) {
        clock_state.base_tsc = tsc;
        clock_state.base_ns = ns;
    }
    else if (ns - clock_state.base_ns >= MIN_CALIBRATION_NS && tsc > clock_state.base_tsc) {
        clock_state.ns_per_tick =
            (double)(ns - clock_state.base_ns) / (double)(tsc - clock_state.base_tsc);
    }
    clock_state.anchor_tsc = tsc;
    clock_state.anchor_ns = ns;
#endif
}

/*
 * The verdict on a code object, cached in its co_extra slot: 0 until decided, then
 * ((name id + 1) << 16) | DECIDED | generation. Name id -1 (so the high part 0) means "not
 * recorded". The generation (3.12+) is the start() during which the code's local events were
 * switched on, so a restarted core switches them on again.
 */
#define DECIDED 0x8000u
#define GEN_MASK 0x7fffu
#define VERDICT_ID(v) ((int32_t)((v) >> 16) - 1)

/* One open call. name_id > 0: recorded; 0: past the cap (counted as dropped); -1: not recorded. */
typedef struct {
    int64_t start;
    int32_t name_id;
} Call;

/* One thread's recording state; a Python object so that its lifetime is reference counted. */
typedef struct {
    PyObject_HEAD
    PyObject *buffer;   /* the session's ThreadBuffer: tid, thread name, open calls at the end */
    Call *stack;        /* open calls, innermost last */
    Py_ssize_t depth, stack_size, lost; /* lost: pushes that found no memory (popped first) */
    double *events;     /* the E payload being filled: tid, then triples */
    Py_ssize_t count, size; /* doubles used and allocated */
    int ended;          /* set without the GIL when the OS thread exits */
} Thread;

/* Cache of C callable -> name id; keys hold a reference to `ref` so the pointers stay unique. */
typedef struct {
    const void *a, *b;
    PyObject *ref;
    int32_t name_id;
} CEntry;

static struct {
    int active;
    int debug;                 /* TRACER_DEBUG: report errors instead of swallowing them */
    PyObject *registry;        /* session.ThreadRegistry: .writer, .new_thread() */
    PyObject *threads;         /* list of Thread */
    Py_ssize_t extra_index;
    Py_ssize_t flush_doubles;  /* a full chunk: 1 + 3 * FLUSH_EVENTS */
    int64_t flush_interval_ns; /* every thread's calls are written this often (FLUSH_INTERVAL_NS) */
    int64_t flush_at;          /* the clock past which the next entry writes every thread's */
    Py_ssize_t max_depth;
    Py_ssize_t deepest;        /* the deepest recorded stack (tracerEnd.deepest_stack) */
    long long cap, admitted, dropped, dropped_reported;
    int64_t min_ns;
    int ignore_c;
    CEntry *c_table;
    size_t c_mask, c_count;
#if MONITORING
    unsigned gen;
    PyObject *set_local_events; /* sys.monitoring.set_local_events */
    PyObject *tool;            /* the sys.monitoring tool id it records with (int) */
    PyObject *local_events;    /* the event set of recorded code (int) */
    PyObject *disable;         /* sys.monitoring.DISABLE */
    PyObject *enabled;         /* code objects with local events on (a list: code compares equal */
                               /* across files) */
#endif
} S;

/* This OS thread's record. initial-exec: read without a __tls_get_addr call (~5% of the time). */
#if defined(__linux__)
static __thread Thread *current __attribute__((tls_model("initial-exec")));
#else
static __thread Thread *current;
#endif
static pthread_key_t exit_key;   /* its destructor marks the record ended */
static Thread no_thread;         /* current when the session could not register the thread */

static void
report_error(void)
{
    if (S.debug)
        PyErr_WriteUnraisable(NULL);
    else
        PyErr_Clear();
}

/* --- threads ------------------------------------------------------------------------------ */

static void
thread_dealloc(Thread *t)
{
    Py_XDECREF(t->buffer);
    PyMem_RawFree(t->stack);
    PyMem_RawFree(t->events);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static PyTypeObject ThreadType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_tracer._native.Thread",
    .tp_basicsize = sizeof(Thread),
    .tp_dealloc = (destructor)thread_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One thread's native recording state.",
};

static void
on_thread_exit(void *record)
{
    __atomic_store_n(&((Thread *)record)->ended, 1, __ATOMIC_RELEASE);
}

/* Sets events[0] to the thread's native id, as the session's ThreadBuffer knows it. */
static void
read_tid(Thread *t)
{
    PyObject *tid = PyObject_GetAttrString(t->buffer, "tid");
    t->events[0] = tid ? PyFloat_AsDouble(tid) : 0.0;
    Py_XDECREF(tid);
    if (PyErr_Occurred())
        report_error();
}

/* The calling thread's record, created on its first event (the session names it). */
static Thread *
thread_get(void)
{
    Thread *t = current;
    if (t != NULL)
        return t != &no_thread ? t : NULL;
    PyObject *buffer = PyObject_CallMethod(S.registry, "new_thread", NULL);
    t = buffer ? PyObject_New(Thread, &ThreadType) : NULL;
    if (t == NULL) {
        Py_XDECREF(buffer);
        report_error();
        current = &no_thread; /* record nothing in this thread rather than fail every event */
        return NULL;
    }
    t->buffer = buffer;
    t->stack = NULL;
    t->depth = t->stack_size = t->lost = 0;
    t->size = 1 + 3 * 256;
    t->events = PyMem_RawMalloc(t->size * sizeof(double));
    t->count = 1;
    t->ended = 0;
    if (t->events == NULL || PyList_Append(S.threads, (PyObject *)t) < 0) {
        Py_DECREF(t);
        PyErr_Clear();
        current = &no_thread;
        return NULL;
    }
    Py_DECREF(t); /* the list owns it */
    read_tid(t);
    current = t;
    pthread_setspecific(exit_key, t);
    return t;
}

/* --- writing -------------------------------------------------------------------------------- */

/* Hands the thread's finished calls (and the drops counted since the last time) to the writer. */
static void
flush(Thread *t)
{
    long long dropped = S.dropped - S.dropped_reported;
    if (t->count <= 1 && dropped == 0)
        return;
#if PY_BIG_ENDIAN
    for (Py_ssize_t i = 0; i < t->count; i++) {
        uint64_t bits;
        memcpy(&bits, &t->events[i], 8);
        bits = __builtin_bswap64(bits);
        memcpy(&t->events[i], &bits, 8);
    }
#endif
    PyObject *payload = PyBytes_FromStringAndSize((const char *)t->events,
                                                  t->count * (Py_ssize_t)sizeof(double));
    t->count = 1; /* emptied before any call that may release the GIL */
#if PY_BIG_ENDIAN
    read_tid(t);
#endif
    if (payload == NULL) {
        report_error();
        return;
    }
    S.dropped_reported = S.dropped;
    PyObject *writer = PyObject_GetAttrString(S.registry, "writer");
    PyObject *result = writer ? PyObject_CallMethod(writer, "write_events", "OOL", t->buffer,
                                                    payload, dropped)
                              : NULL;
    Py_XDECREF(result);
    Py_XDECREF(writer);
    Py_DECREF(payload);
    if (result == NULL)
        report_error();
}

static inline void
emit(Thread *t, int64_t start, int64_t duration, int32_t name_id)
{
    if (t->count + 3 > t->size) {
        Py_ssize_t size = (t->size - 1) * 2 + 1;
        double *grown = size <= S.flush_doubles
                            ? PyMem_RawRealloc(t->events, size * sizeof(double))
                            : NULL;
        if (grown != NULL) {
            t->events = grown;
            t->size = size;
        }
        else {
            flush(t);
        }
    }
    double *out = t->events + t->count;
    out[0] = (double)start;
    out[1] = (double)duration;
    out[2] = (double)name_id;
    t->count += 3;
    if (t->count >= S.flush_doubles)
        flush(t);
}

/* --- pairing ---------------------------------------------------------------------------- */

static inline void
push(Thread *t, int32_t name_id, int64_t start)
{
    if (t->depth == t->stack_size) {
        Py_ssize_t size = t->stack_size ? t->stack_size * 2 : 64;
        Call *grown = PyMem_RawRealloc(t->stack, size * sizeof(Call));
        if (grown == NULL) {
            t->lost++;
            return;
        }
        t->stack = grown;
        t->stack_size = size;
    }
    t->stack[t->depth].start = start;
    t->stack[t->depth].name_id = name_id;
    t->depth++;
    if (name_id > 0 && t->depth > S.deepest)
        S.deepest = t->depth; /* recorded calls only: not those past the depth limit or the cap */
}

/* The cap and the depth limit, decided when a call starts (as writer.TraceWriter._walk does). */
static inline int32_t
admit(Thread *t, int32_t name_id)
{
    if (name_id < 0)
        return -1;
    if (t->depth + t->lost >= S.max_depth)
        return -1;
    if (S.admitted < S.cap) {
        S.admitted++;
        return name_id;
    }
    S.dropped++;
    return 0; /* past the cap: counted, and so are its callees */
}

static void flush_threads(int ending);

static inline void
enter(Thread *t, int32_t name_id)
{
    name_id = admit(t, name_id);
    int64_t now = now_ns(); /* the clock last on entry: our own time stays outside */
    push(t, name_id, now);
    if (now > S.flush_at) {
        /* Every thread's finished calls reach the file within the interval of the next entry,
         * even those of threads blocked in a sleep or a long C call. */
        S.flush_at = now + S.flush_interval_ns;
        calibrate();
        flush_threads(0);
        if (PyErr_Occurred())
            report_error();
    }
}

static inline void
leave(Thread *t, int64_t now)
{
    if (t->lost) {
        t->lost--;
        return;
    }
    if (t->depth == 0)
        return; /* a return from a call that started before recording did */
    Call *call = &t->stack[--t->depth];
    if (call->name_id > 0) {
        int64_t duration = now - call->start;
        if (duration >= S.min_ns)
            emit(t, call->start, duration, call->name_id);
    }
}

/* --- names ---------------------------------------------------------------------------------- */

static uintptr_t
verdict_of(PyObject *code)
{
    void *extra = NULL;
    if (GET_EXTRA(code, S.extra_index, &extra) < 0) {
        PyErr_Clear();
        return 0;
    }
    return (uintptr_t)extra;
}

/* Asks the writer once per code object for its name id (None when the filters exclude it). */
static uintptr_t
decide(PyObject *code)
{
    int32_t name_id = -1;
    PyObject *writer = PyObject_GetAttrString(S.registry, "writer");
    PyObject *result = writer ? PyObject_CallMethod(writer, "id_for", "O", code) : NULL;
    Py_XDECREF(writer);
    if (result == NULL) {
        report_error();
    }
    else {
        if (result != Py_None)
            name_id = (int32_t)PyLong_AsLong(result);
        Py_DECREF(result);
        if (PyErr_Occurred()) {
            report_error();
            name_id = -1;
        }
    }
    uintptr_t verdict = ((uintptr_t)(uint32_t)(name_id + 1) << 16) | DECIDED;
    if (SET_EXTRA(code, S.extra_index, (void *)verdict) < 0)
        PyErr_Clear();
    return verdict;
}

static inline int32_t
code_id(PyObject *code)
{
    uintptr_t verdict = verdict_of(code);
    if (verdict == 0)
        verdict = decide(code);
    return VERDICT_ID(verdict);
}

static inline size_t
c_slot(const void *a, const void *b)
{
    uintptr_t h = ((uintptr_t)a >> 4) * (uintptr_t)0x9E3779B97F4A7C15ull ^ (uintptr_t)b;
    return (size_t)(h ^ (h >> 29)) & S.c_mask;
}

static void
c_table_insert(const void *a, const void *b, PyObject *ref, int32_t name_id)
{
    size_t i = c_slot(a, b);
    while (S.c_table[i].a != NULL)
        i = (i + 1) & S.c_mask;
    S.c_table[i].a = a;
    S.c_table[i].b = b;
    S.c_table[i].ref = ref;
    S.c_table[i].name_id = name_id;
    S.c_count++;
}

/* Makes room for one more entry (the table stays at most half full); 0 when out of memory. */
static int
c_table_reserve(void)
{
    if (S.c_table != NULL && (S.c_count + 1) * 2 <= S.c_mask + 1)
        return 1;
    size_t size = S.c_table ? (S.c_mask + 1) * 2 : 1024;
    CEntry *old = S.c_table;
    size_t old_size = old ? S.c_mask + 1 : 0;
    CEntry *table = PyMem_RawCalloc(size, sizeof(CEntry));
    if (table == NULL)
        return 0;
    S.c_table = table;
    S.c_mask = size - 1;
    S.c_count = 0;
    for (size_t i = 0; i < old_size; i++)
        if (old[i].a != NULL)
            c_table_insert(old[i].a, old[i].b, old[i].ref, old[i].name_id);
    PyMem_RawFree(old);
    return 1;
}

/*
 * The name id of a C function. The key follows what writer.CFunctionNames names: a builtin by
 * its method definition and the module or class it is bound to (an instance: its class), a
 * method descriptor (3.12+: 3.8-3.11 report it bound) by itself.
 */
static int32_t
c_id(PyObject *func)
{
    const void *a, *b;
    PyObject *ref;
    if (PyCFunction_Check(func)) {
        PyObject *self = PyCFunction_GET_SELF(func);
        int keyed_by_self = self == NULL || PyModule_Check(self) || PyType_Check(self);
        ref = keyed_by_self ? self : (PyObject *)Py_TYPE(self);
        a = ((PyCFunctionObject *)func)->m_ml;
        b = ref;
    }
    else {
        a = func;
        b = NULL;
        ref = func;
    }
    if (S.c_table != NULL) {
        for (size_t i = c_slot(a, b); S.c_table[i].a != NULL; i = (i + 1) & S.c_mask)
            if (S.c_table[i].a == a && S.c_table[i].b == b)
                return S.c_table[i].name_id;
    }
    int32_t name_id = -1;
    PyObject *writer = PyObject_GetAttrString(S.registry, "writer");
    PyObject *result = writer ? PyObject_CallMethod(writer, "c_function_id", "O", func) : NULL;
    Py_XDECREF(writer);
    if (result != NULL) {
        name_id = (int32_t)PyLong_AsLong(result);
        Py_DECREF(result);
    }
    if (PyErr_Occurred()) {
        report_error();
        return -1;
    }
    if (c_table_reserve()) {
        Py_XINCREF(ref);
        c_table_insert(a, b, ref, name_id);
    }
    return name_id;
}

/* A C call: not recorded under a caller that is not recorded (as the Python cores do). */
static inline void
c_enter(Thread *t, PyObject *func)
{
    if (t->depth && t->stack[t->depth - 1].name_id < 0) {
        push(t, -1, 0);
        return;
    }
    enter(t, c_id(func));
}

#if MONITORING
/* --- 3.12+: sys.monitoring callbacks ------------------------------------------------------ */

/*
 * One tool, as core_monitoring.py: PY_START is a global event whose callback decides each code
 * object once (excluded code gets DISABLE and costs nothing after) and records the start of
 * recorded code; the other events (resumes, returns, C calls) are local events, switched on per
 * recorded code object before its first start is recorded. (An earlier design gave the global
 * PY_START to a second "decider" tool and the starts to the recorder's local events: as many
 * instructions per call, measured, and two of the six tool ids a process has.)
 */

/*
 * What counts as a call of a C function, as CPython's profile hook reports one on every version
 * (and so cProfile and VizTracer): a builtin function or method, or a method descriptor called
 * through its type (str.join(",", words)). On 3.12+ CALL and C_RETURN fire for every callable;
 * classes, slot wrappers and other callable objects are not calls of their own there either
 * (their Python code is recorded), so a program's trace has the same calls on 3.8 as on 3.13.
 */
static inline int
is_c_function(PyObject *func)
{
    PyTypeObject *type = Py_TYPE(func);
    if (type == &PyFunction_Type || type == &PyMethod_Type)
        return 0; /* most calls, decided before PyCFunction_Check walks the type's bases */
    return type == &PyCFunction_Type || type == &PyMethodDescr_Type || PyCFunction_Check(func);
}

static inline int
enabled_now(PyObject *code)
{
    uintptr_t verdict = verdict_of(code);
    return VERDICT_ID(verdict) >= 0 && (verdict & GEN_MASK) == S.gen;
}

static PyObject *
mon_py_start(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *code = args[0];
    uintptr_t verdict = verdict_of(code);
    if (verdict == 0)
        verdict = decide(code);
    int32_t name_id = VERDICT_ID(verdict);
    if (name_id < 0)
        return Py_NewRef(S.disable); /* excluded code: no PY_START from it again */
    if ((verdict & GEN_MASK) != S.gen) {
        if (!S.active)
            Py_RETURN_NONE; /* stopping: switch nothing on, record nothing */
        /* First start of this code object in this recording: its local events go on before this
         * start is recorded, so its return is seen (the GIL is held from the event on). */
        verdict = (verdict & ~(uintptr_t)GEN_MASK) | S.gen;
        if (SET_EXTRA(code, S.extra_index, (void *)verdict) < 0)
            PyErr_Clear();
        PyObject *r = PyObject_CallFunctionObjArgs(S.set_local_events, S.tool, code,
                                                   S.local_events, NULL);
        Py_XDECREF(r);
        if (r == NULL || PyList_Append(S.enabled, code) < 0)
            report_error();
    }
    Thread *t = thread_get();
    if (t != NULL)
        enter(t, name_id);
    Py_RETURN_NONE;
}

static PyObject *
mon_py_resume(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Thread *t = thread_get();
    if (t != NULL)
        enter(t, VERDICT_ID(verdict_of(args[0])));
    Py_RETURN_NONE;
}

static PyObject *
mon_return(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t now = now_ns(); /* the clock first on exit */
    Thread *t = current;
    if (t != NULL && t != &no_thread)
        leave(t, now);
    Py_RETURN_NONE;
}

static PyObject *
mon_throw(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (enabled_now(args[0]))
        return mon_py_resume(module, args, nargs);
    Py_RETURN_NONE;
}

static PyObject *
mon_unwind(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    int64_t now = now_ns();
    Thread *t = current;
    if (t != NULL && t != &no_thread && enabled_now(args[0]))
        leave(t, now);
    Py_RETURN_NONE;
}

static PyObject *
mon_call(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!is_c_function(args[2]))
        Py_RETURN_NONE; /* Python callees get PY_START */
    Thread *t = thread_get();
    if (t != NULL)
        c_enter(t, args[2]);
    Py_RETURN_NONE;
}

static PyObject *
mon_c_return(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    /* A class or another callable object (a third of the C_RETURNs of bench/workloads/mixed.py):
     * no call to end, and no clock to read (a TSC read costs more than this test). */
    if (!is_c_function(args[2]))
        Py_RETURN_NONE;
    int64_t now = now_ns();
    Thread *t = current;
    if (t != NULL && t != &no_thread)
        leave(t, now);
    Py_RETURN_NONE;
}

static PyObject *
start_monitoring(PyObject *module, PyObject *args)
{
    PyObject *set_local_events, *tool, *local_events, *disable;
    if (!PyArg_ParseTuple(args, "OOOO", &set_local_events, &tool, &local_events, &disable))
        return NULL;
    Py_XSETREF(S.set_local_events, Py_NewRef(set_local_events));
    Py_XSETREF(S.tool, Py_NewRef(tool));
    Py_XSETREF(S.local_events, Py_NewRef(local_events));
    Py_XSETREF(S.disable, Py_NewRef(disable));
    S.gen = S.gen % GEN_MASK + 1;
    S.active = 1;
    Py_RETURN_NONE;
}

static PyObject *
take_enabled_codes(PyObject *module, PyObject *unused)
{
    PyObject *fresh = PyList_New(0);
    if (fresh == NULL)
        return NULL;
    PyObject *codes = S.enabled;
    S.enabled = fresh;
    return codes;
}

#else
/* --- 3.8-3.11: the C profile hook --------------------------------------------------------- */

static int
profile(PyObject *unused, PyFrameObject *frame, int what, PyObject *arg)
{
    if (!S.active) {
        PyEval_SetProfile(NULL, NULL);
        return 0;
    }
    Thread *t = thread_get();
    if (t == NULL)
        return 0;
    switch (what) {
    case PyTrace_CALL: {
#if PY_VERSION_HEX >= 0x03090000
        PyCodeObject *code = PyFrame_GetCode(frame);
        int32_t name_id = code_id((PyObject *)code);
        Py_DECREF(code);
#else
        int32_t name_id = code_id((PyObject *)frame->f_code);
#endif
        enter(t, name_id);
        break;
    }
    case PyTrace_RETURN:
        leave(t, now_ns());
        break;
    case PyTrace_C_CALL:
        if (!S.ignore_c)
            c_enter(t, arg);
        break;
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION:
        if (!S.ignore_c)
            leave(t, now_ns());
        break;
    }
    return 0;
}

static PyObject *
attach(PyObject *module, PyObject *unused)
{
    PyEval_SetProfile(profile, NULL);
    Py_RETURN_NONE;
}

/* Sets (or clears) the profile hook of every thread: 3.9-3.11 can reach running threads. */
static int
set_all_profiles(Py_tracefunc func)
{
    PyEval_SetProfile(func, NULL);
#if PY_VERSION_HEX >= 0x03090000
    PyThreadState *me = PyThreadState_Get();
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(PyThreadState_GetInterpreter(me));
         ts != NULL;
         ts = PyThreadState_Next(ts))
        if (ts != me && _PyEval_SetProfile(ts, func, NULL) < 0)
            return -1;
#endif
    return 0;
}

/* threading.setprofile() hook: a new thread's first event installs the C hook in it. */
static PyObject *
thread_profile(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    static const char *const kinds[] = {"call", "return", "c_call", "c_exception", "c_return"};
    static const int whats[] = {PyTrace_CALL, PyTrace_RETURN, PyTrace_C_CALL,
                                PyTrace_C_EXCEPTION, PyTrace_C_RETURN};
    if (nargs != 3 || !PyFrame_Check(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "thread_profile(frame, event, arg)");
        return NULL;
    }
    if (!S.active) {
        PyEval_SetProfile(NULL, NULL);
        Py_RETURN_NONE;
    }
    PyEval_SetProfile(profile, NULL);
    for (size_t i = 0; i < sizeof(whats) / sizeof(whats[0]); i++)
        if (PyUnicode_CompareWithASCIIString(args[1], kinds[i]) == 0)
            profile(NULL, (PyFrameObject *)args[0], whats[i], args[2]);
    Py_RETURN_NONE;
}
#endif

/* --- the module's Python interface (core_native.py) ----------------------------------------- */

static PyObject *
configure(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"registry", "flush_events", "flush_interval_ns", "max_depth",
                               "cap", "min_ns", "ignore_c", "debug", NULL};
    PyObject *registry;
    Py_ssize_t flush_events, max_depth;
    long long flush_interval_ns, cap, min_ns;
    int ignore_c, debug;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OnLnLLpp", keywords, &registry, &flush_events,
                                     &flush_interval_ns, &max_depth, &cap, &min_ns, &ignore_c,
                                     &debug))
        return NULL;
    if (flush_events < 1) {
        PyErr_SetString(PyExc_ValueError, "flush_events must be positive");
        return NULL;
    }
    Py_XSETREF(S.registry, Py_NewRef(registry));
    S.flush_doubles = 1 + 3 * flush_events;
    S.flush_interval_ns = flush_interval_ns;
    S.flush_at = 0;
    S.max_depth = max_depth > 0 ? max_depth : PY_SSIZE_T_MAX;
    S.cap = cap;
    S.min_ns = min_ns;
    S.ignore_c = ignore_c;
    S.debug = debug;
    Py_RETURN_NONE;
}

#if !MONITORING
static PyObject *
start(PyObject *module, PyObject *unused)
{
    S.active = 1;
    if (set_all_profiles(profile) < 0)
        return NULL;
    Py_RETURN_NONE;
}
#endif

static PyObject *
stop(PyObject *module, PyObject *unused)
{
    S.active = 0;
#if !MONITORING
    if (set_all_profiles(NULL) < 0)
        return NULL;
#endif
    Py_RETURN_NONE;
}

/* Gives a thread's open calls to its ThreadBuffer (.stack) for writer.close(), and forgets them. */
static int
export_open_calls(Thread *t)
{
    PyObject *stack = PyList_New(0);
    for (Py_ssize_t i = 0; stack != NULL && i < t->depth; i++) {
        if (t->stack[i].name_id <= 0)
            continue;
        PyObject *item = Py_BuildValue("(iL)", t->stack[i].name_id, (long long)t->stack[i].start);
        if (item == NULL || PyList_Append(stack, item) < 0)
            Py_CLEAR(stack);
        Py_XDECREF(item);
    }
    t->depth = t->lost = 0;
    int status = stack ? PyObject_SetAttrString(t->buffer, "stack", stack) : -1;
    Py_XDECREF(stack);
    return status;
}

/* Writes every thread's finished calls (ending: and hands over their open calls); reaps the
 * records of threads that ended. Sets a Python error on failure. */
static void
flush_threads(int ending)
{
    PyObject *threads = PyList_GetSlice(S.threads, 0, PY_SSIZE_T_MAX);
    if (threads == NULL)
        return;
    PyObject *reaped = PySet_New(NULL);
    for (Py_ssize_t i = 0; reaped != NULL && i < PyList_GET_SIZE(threads); i++) {
        Thread *t = (Thread *)PyList_GET_ITEM(threads, i);
        /* Read before the flush: a thread that ends meanwhile may still have events. */
        int ended = __atomic_load_n(&t->ended, __ATOMIC_ACQUIRE);
        flush(t);
        if (ending && export_open_calls(t) < 0)
            report_error();
        if (ended && PySet_Add(reaped, (PyObject *)t) < 0)
            Py_CLEAR(reaped);
    }
    if (S.dropped != S.dropped_reported && PyList_GET_SIZE(threads) > 0)
        flush((Thread *)PyList_GET_ITEM(threads, 0)); /* drops counted by ended threads */
    Py_DECREF(threads);
    if (reaped == NULL)
        return;
    for (Py_ssize_t i = PyList_GET_SIZE(S.threads) - 1; i >= 0; i--)
        if (PySet_Contains(reaped, PyList_GET_ITEM(S.threads, i)) == 1)
            PySequence_DelItem(S.threads, i);
    Py_DECREF(reaped);
}

static PyObject *
flush_all(PyObject *module, PyObject *args)
{
    int ending = 0;
    if (!PyArg_ParseTuple(args, "|p", &ending))
        return NULL;
    calibrate();
    S.flush_at = now_ns() + S.flush_interval_ns;
    flush_threads(ending);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
after_fork(PyObject *module, PyObject *args)
{
    long long fork_ns;
    if (!PyArg_ParseTuple(args, "L", &fork_ns))
        return NULL;
    Thread *t = current;
    PyObject *kept = PyList_New(0);
    if (kept == NULL)
        return NULL;
    S.admitted = S.dropped = S.dropped_reported = S.deepest = 0;
    if (t != NULL && t != &no_thread) {
        S.deepest = t->depth;
        if (PyList_Append(kept, (PyObject *)t) < 0) {
            Py_DECREF(kept);
            return NULL;
        }
        t->count = 1; /* the parent's events are the parent's */
        read_tid(t);
        for (Py_ssize_t i = 0; i < t->depth; i++) {
            t->stack[i].start = fork_ns;
            if (t->stack[i].name_id > 0)
                S.admitted++;
        }
    }
    Py_SETREF(S.threads, kept); /* the other threads do not exist in this process */
    Py_RETURN_NONE;
}

static PyObject *
deepest(PyObject *module, PyObject *unused)
{
    return PyLong_FromSsize_t(S.deepest);
}

/*
 * Guarded signals (hooks.py): SIGTERM, SIGHUP and SIGINT when the shim's Python handler stands in
 * for their default action, to write the trace before the process dies of the signal. CPython's
 * C handler only trips a flag; the Python handler runs in the main thread, between bytecodes or
 * when a blocking call there fails with EINTR. A signal that lands in another thread, or in the
 * main thread on its way into a blocking call (a Pool worker terminated just before it waits on
 * its queue's lock), leaves the flag tripped and the main thread blocked for good, where the
 * default action would have ended the process at once.
 *
 * So tracer's C handler goes in front of CPython's. It calls CPython's, then arms a timer that
 * sends the signal to the main thread every KICK_NS: each one interrupts the blocking call, whose
 * EINTR path runs the Python handler, which reports in (signal_seen) and ends the re-sending. If
 * GRACE_NS pass without it (the main thread is in C code that never looks at signals), the
 * signal's default action ends the process, as untraced; the trace keeps what was written.
 * Everything the handler calls is async-signal-safe. Linux only (timer_create with
 * SIGEV_THREAD_ID); elsewhere redeliver_signal() says no.
 */
#if defined(__linux__)
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid /* glibc < 2.35 names no field for it */
#endif

#define KICK_NS 10000000LL    /* 10 ms between re-sent signals */
#define GRACE_NS 1000000000LL /* 1 s: then the default action */

typedef struct {
    struct sigaction previous;  /* CPython's handler, which tracer's calls first */
    timer_t timer;              /* sends the signal to the main thread */
    pid_t timer_pid;            /* the process that created it: a fork child has no timer */
    volatile sig_atomic_t seen; /* the Python handler ran: the signal is being handled */
    volatile sig_atomic_t armed;
    int64_t armed_at; /* system_ns() of the first arrival */
} Redelivery;

static Redelivery redeliveries[NSIG];

static void
set_timer(Redelivery *r, long long interval_ns)
{
    struct itimerspec spec;
    spec.it_interval.tv_sec = spec.it_value.tv_sec = (time_t)(interval_ns / 1000000000LL);
    spec.it_interval.tv_nsec = spec.it_value.tv_nsec = (long)(interval_ns % 1000000000LL);
    timer_settime(r->timer, 0, &spec, NULL);
}

static void
redelivering_handler(int signum, siginfo_t *info, void *context)
{
    int saved_errno = errno;
    Redelivery *r = &redeliveries[signum];
    if (r->previous.sa_flags & SA_SIGINFO)
        r->previous.sa_sigaction(signum, info, context);
    else if (r->previous.sa_handler != SIG_DFL && r->previous.sa_handler != SIG_IGN)
        r->previous.sa_handler(signum);
    if (!r->seen && r->timer_pid == getpid()) {
        if (!r->armed) {
            r->armed = 1;
            r->armed_at = system_ns();
            set_timer(r, KICK_NS);
        }
        else if (system_ns() - r->armed_at >= GRACE_NS) {
            /* Blocked during this handler, the raised signal arrives as it returns. */
            set_timer(r, 0);
            struct sigaction dfl;
            memset(&dfl, 0, sizeof(dfl));
            dfl.sa_handler = SIG_DFL;
            sigaction(signum, &dfl, NULL);
            raise(signum);
        }
    }
    errno = saved_errno;
}

/* redeliver_signal(signum): puts tracer's handler in front of the one CPython just installed
 * for signum, with a timer aimed at the calling thread (the main thread: only it can install
 * handlers). Called again in a fork child, whose thread is the new main thread and which has no
 * timers. */
static PyObject *
redeliver_signal(PyObject *module, PyObject *args)
{
    int signum;
    if (!PyArg_ParseTuple(args, "i", &signum))
        return NULL;
    if (signum <= 0 || signum >= NSIG) {
        PyErr_SetString(PyExc_ValueError, "signal number out of range");
        return NULL;
    }
    Redelivery *r = &redeliveries[signum];
    if (r->timer_pid != getpid()) {
        struct sigevent event;
        memset(&event, 0, sizeof(event));
        event.sigev_notify = SIGEV_THREAD_ID;
        event.sigev_signo = signum;
        event.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
        if (timer_create(CLOCK_MONOTONIC, &event, &r->timer) != 0)
            Py_RETURN_FALSE;
        r->timer_pid = getpid();
        r->seen = r->armed = 0;
    }
    struct sigaction installed;
    if (sigaction(signum, NULL, &installed) != 0)
        Py_RETURN_FALSE;
    if ((installed.sa_flags & SA_SIGINFO) && installed.sa_sigaction == redelivering_handler)
        Py_RETURN_TRUE; /* already in front (a fork child inherits it) */
    if (!(installed.sa_flags & SA_SIGINFO) &&
        (installed.sa_handler == SIG_DFL || installed.sa_handler == SIG_IGN))
        Py_RETURN_FALSE; /* no handler of CPython's to stand in front of */
    r->previous = installed;
    struct sigaction mine = installed;
    mine.sa_flags |= SA_SIGINFO;
    mine.sa_sigaction = redelivering_handler;
    if (sigaction(signum, &mine, NULL) != 0)
        Py_RETURN_FALSE;
    Py_RETURN_TRUE;
}

/* signal_seen(signum): the Python handler runs; no more re-sending of signum in this process. */
static PyObject *
signal_seen(PyObject *module, PyObject *args)
{
    int signum;
    if (!PyArg_ParseTuple(args, "i", &signum))
        return NULL;
    if (signum > 0 && signum < NSIG) {
        Redelivery *r = &redeliveries[signum];
        r->seen = 1;
        if (r->armed && r->timer_pid == getpid())
            set_timer(r, 0);
    }
    Py_RETURN_NONE;
}
#else
static PyObject *
redeliver_signal(PyObject *module, PyObject *args)
{
    Py_RETURN_FALSE; /* no thread-directed timers here */
}

static PyObject *
signal_seen(PyObject *module, PyObject *args)
{
    Py_RETURN_NONE;
}
#endif

static PyMethodDef methods[] = {
    {"deepest", deepest, METH_NOARGS, "The deepest call stack any thread had."},
    {"redeliver_signal", redeliver_signal, METH_VARARGS,
     "redeliver_signal(signum) -> bool: re-sends signum to the main thread until signal_seen()."},
    {"signal_seen", signal_seen, METH_VARARGS,
     "signal_seen(signum): the shim's Python handler for signum runs."},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(registry, flush_events, flush_interval_ns, max_depth, cap, min_ns, ignore_c, "
     "debug)"},
    {"stop", stop, METH_NOARGS, "Stops recording (no I/O)."},
    {"flush_all", flush_all, METH_VARARGS,
     "flush_all(ending=False): writes every thread's finished calls; ending: also hands the "
     "open calls to the ThreadBuffers and forgets them."},
    {"after_fork", after_fork, METH_VARARGS,
     "after_fork(fork_ns): in a fork child, drops other threads and the parent's events."},
#if MONITORING
    {"start_monitoring", start_monitoring, METH_VARARGS,
     "start_monitoring(set_local_events, tool, local_events, DISABLE)"},
    {"take_enabled_codes", take_enabled_codes, METH_NOARGS,
     "The code objects whose local events were switched on (and forgets them)."},
    {"py_start", (PyCFunction)(void (*)(void))mon_py_start, METH_FASTCALL, "PY_START (global)"},
    {"py_resume", (PyCFunction)(void (*)(void))mon_py_resume, METH_FASTCALL, "PY_RESUME"},
    {"py_return", (PyCFunction)(void (*)(void))mon_return, METH_FASTCALL, "PY_RETURN, PY_YIELD"},
    {"py_throw", (PyCFunction)(void (*)(void))mon_throw, METH_FASTCALL, "PY_THROW"},
    {"py_unwind", (PyCFunction)(void (*)(void))mon_unwind, METH_FASTCALL, "PY_UNWIND"},
    {"call", (PyCFunction)(void (*)(void))mon_call, METH_FASTCALL, "CALL"},
    {"c_return", (PyCFunction)(void (*)(void))mon_c_return, METH_FASTCALL, "C_RETURN, C_RAISE"},
#else
    {"start", start, METH_NOARGS, "Starts recording in every thread this Python can reach."},
    {"attach", attach, METH_NOARGS, "Starts recording in the calling thread."},
    {"thread_profile", (PyCFunction)(void (*)(void))thread_profile, METH_FASTCALL,
     "threading.setprofile() hook: attaches the calling thread."},
#endif
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_tracer._native", "tracer's native recording core.", -1, methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
#ifdef Py_GIL_DISABLED
    /* Free-threaded builds: the buffers and caches here rely on the GIL (see the top of this
     * file); core.py refuses such a build before loading, this is the last line of defence. */
    PyErr_SetString(PyExc_ImportError, "the native core needs a CPython with the GIL");
    return NULL;
#endif
    /* Refuse another CPython before touching any structure: its layout may differ. */
    char built[16];
    int n = snprintf(built, sizeof(built), "%d.%d", PY_MAJOR_VERSION, PY_MINOR_VERSION);
    const char *running = Py_GetVersion();
    if (strncmp(running, built, (size_t)n) != 0 || (running[n] >= '0' && running[n] <= '9')) {
        PyErr_Format(PyExc_ImportError, "built for CPython %s, not %.10s", built, running);
        return NULL;
    }
    if (PyType_Ready(&ThreadType) < 0)
        return NULL;
    S.extra_index = REQUEST_EXTRA_INDEX(NULL);
    if (S.extra_index < 0) {
        PyErr_SetString(PyExc_ImportError, "no free code extra slot");
        return NULL;
    }
    if (pthread_key_create(&exit_key, on_thread_exit) != 0) {
        PyErr_SetString(PyExc_ImportError, "no free thread-specific key");
        return NULL;
    }
    S.threads = PyList_New(0);
#if MONITORING
    S.enabled = PyList_New(0);
    if (S.enabled == NULL)
        return NULL;
#endif
    if (S.threads == NULL)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module != NULL && PyModule_AddStringConstant(module, "PY_VERSION", PY_VERSION) < 0)
        Py_CLEAR(module);
    return module;
}
