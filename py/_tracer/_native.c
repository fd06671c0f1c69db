/*
 * _tracer._native: tracer's native recording core (docs/internals.md, section 5).
 *
 * It owns the hot path only: the callbacks (sys.monitoring with C callables on 3.12+, the C-level
 * profile hook on 3.8-3.11), call/return pairing, and the filters decided early (include/exclude
 * once per code object, max depth, min duration). Each thread stores its open calls and
 * its finished calls straight into two blocks of the raw file's MAP_SHARED mapping (an `S` record
 * and an `E` block, docs/internals.md 2a), which the writer hands out (writer.TraceWriter's
 * stack_block() and events_block()); names come from the writer's code_id() / c_function_id(),
 * once per code object or C callable. So nothing recorded is ever only in process memory, and
 * there is no file I/O here.
 *
 * Values mode (--log_func_args, --log_func_retval; configure(values=...)): with the session's
 * call_values.CallValues (configure(native_values=...)), the core records the values itself, as
 * CallValues does: each thread's `V` block and `O` record are pointers into the mapping, the
 * common values are rendered here and the others by values.text_of (see native_start). With
 * another values object, the core calls its start() when a recorded Python call starts and its
 * finish() when such a call ends (see enter_with_token). Either way it keeps a token beside the
 * call's stack slot. Off, it costs one predictable branch per start and per end. admit() lets the
 * session's own events (instants, counters, spans) take their place under the cap on events
 * written whole; calls have no cap here (the writer and the reader apply --tracer_entries to
 * them: docs/internals.md 2a, "Event cap").
 *
 * Threading: every entry point runs with the GIL held (no free-threaded builds: core.py refuses
 * them). The only code that runs without the GIL is the thread-exit destructor, which sets one
 * flag. Calls into Python (names, blocks) can run other threads, but never this thread's
 * callbacks (the interpreter does not report events inside a callback); the entry points Python
 * code calls (the fork and resume moves) ignore the calling thread's events while they work.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

#if defined(__GNUC__) || defined(__clang__)
#define NOINLINE __attribute__((noinline)) /* the rare paths stay out of the hot ones */
#else
#define NOINLINE
#endif

#if PY_VERSION_HEX >= 0x03090000
#define VECTORCALL PyObject_Vectorcall
#else
#define VECTORCALL _PyObject_Vectorcall
static inline PyCodeObject *
PyFrame_GetCode(PyFrameObject *frame)
{
    Py_INCREF(frame->f_code);
    return frame->f_code;
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

/* One open call, as the `S` record holds it. name_id > 0: recorded; -1: not recorded. */
typedef struct {
    int64_t start;
    int64_t name_id;
} Call;

#define HEAD_WORDS 2           /* an S or E payload starts with tid, then depth or count */
#define FIRST_EVENT_SLOTS 256  /* a thread's first events block; each next one is twice as big */
#define FIRST_STACK_SLOTS 64

/* A block: an E or S payload in the file's mapping (view held) or in private memory. */
typedef struct {
    char *data;
    Py_ssize_t slots;
    Py_buffer view;
    int mapped;
} Block;

/* One thread's recording state; a Python object so that its lifetime is reference counted. */
typedef struct {
    PyObject_HEAD
    PyObject *state;    /* the session's threads.ThreadState: the thread's tid and name */
    int64_t tid;
    Block st;           /* open calls: int64 tid, depth, then Call slots */
    Call *stack;
    Py_ssize_t depth, lost; /* lost: pushes that found no room (popped first) */
    Block ev;           /* finished calls: float64 tid, count, then (start, dur, id) slots */
    double *events;
    Py_ssize_t count;
    int private;        /* a fork in progress: the blocks are private memory (before_fork) */
    pid_t fork_pid;     /* meanwhile: the pid of the process that forks */
    Block saved_st, saved_ev; /* the file's blocks meanwhile, for after_fork_in_parent */
    Py_ssize_t saved_count;
    int ended;          /* set without the GIL when the OS thread exits */
    /* Values mode: the token values.start() gave each open call (a strong reference, NULL for
     * none), parallel to the stack's slots; private memory (never the file's). A slot at or
     * above depth holds NULL. token_slots stays 0 (tokens NULL) until a call gets a token. */
    PyObject **tokens;
    Py_ssize_t token_slots;
    /* Values mode with native values: the thread's values block (`V`: v_data its payload, v_size
     * the text bytes it holds, v_used those used) and open-call arguments record (`O`, o_slots
     * slots), in the file of generation values_gen (S.values_gen: an older one is dropped before
     * use); values_refused: that file's writer gave none (not asked again). Not used by a fork
     * child while private (values_writable). */
    unsigned values_gen;
    int values_refused;
    Py_buffer v_view, o_view;
    char *v_data, *o_data;
    Py_ssize_t v_size, v_used, o_slots;
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
    PyObject *registry;        /* threads.ThreadRegistry: .writer, .new_thread() */
    PyObject *threads;         /* list of Thread */
    Py_ssize_t extra_index;
    Py_ssize_t last_event_slots; /* the largest events block (threads.LAST_EVENT_SLOTS) */
    int64_t check_interval_ns; /* the periodic work's interval (CHECK_INTERVAL_NS) */
    int64_t check_at;          /* the clock past which the next entry does it */
    Py_ssize_t max_depth;
    Py_ssize_t deepest;        /* the deepest recorded stack (tracerEnd.deepest_stack) */
    long long cap, admitted, dropped; /* events written whole: at most cap admitted (admit()) */
    int64_t min_ns;
    int ignore_c;
    /* Values mode (--log_func_args, --log_func_retval): the `values` object's bound start() and
     * finish() and its NO_VALUE, read once in configure(); all NULL when values is None. */
    PyObject *values_start, *values_finish, *no_value;
    /* Native values (configure(native_values=(args, retval, text))): the core renders and writes
     * the values itself (native_start, native_finish); `text` is values.text_of, for the values it
     * does not render. values_gen: bumped when the threads' V and O blocks are no longer the
     * current file's (resume, a fork child, a new configure). */
    int values_native, log_args, log_retval;
    PyObject *text_of;
    unsigned values_gen;
    Py_ssize_t params_index; /* co_extra slot: a code object's parameters (parameters_of) */
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
/* current when the session could not register the thread, or while an entry point Python calls
 * moves the thread's blocks (its events are ignored meanwhile) */
static Thread no_thread;
/* Where events go when no block can be had at all (out of memory): overwritten, never read. */
static double scratch_events[HEAD_WORDS + 3 * 16];

static void
report_error(void)
{
    if (S.debug)
        PyErr_WriteUnraisable(NULL);
    else
        PyErr_Clear();
}

/* Stores after the numbers they cover: a reader of the mapping (or of the file after a kill) sees
 * a count or depth only once the slots it covers hold their numbers. */
static inline void
publish_count(double *at, Py_ssize_t count)
{
    double value = (double)count;
    uint64_t bits;
    memcpy(&bits, &value, 8);
    __atomic_store_n((uint64_t *)at, bits, __ATOMIC_RELEASE);
}

static inline void
publish_depth(int64_t *at, Py_ssize_t depth)
{
    __atomic_store_n(at, (int64_t)depth, __ATOMIC_RELEASE);
}

/* --- blocks ------------------------------------------------------------------------------- */

static void
block_release(Block *b)
{
    if (b->mapped)
        PyBuffer_Release(&b->view);
    else
        PyMem_RawFree(b->data);
    b->data = NULL;
    b->slots = 0;
    b->mapped = 0;
}

/* A block in private memory (zeroed); 0 when out of memory. */
static int
block_private(Block *b, Py_ssize_t slots, Py_ssize_t slot_words)
{
    b->data = PyMem_RawCalloc(HEAD_WORDS + slots * slot_words, 8);
    b->slots = b->data ? slots : 0;
    b->mapped = 0;
    return b->data != NULL;
}

/* A block from the writer (`method`: events_block or stack_block) of about `slots` slots; 0 when
 * it gives none (the file takes no more, or this is a fork child before its own file) or on error. */
static int
block_from_writer(Block *b, const char *method, int64_t tid, Py_ssize_t slots,
                  Py_ssize_t slot_words)
{
    PyObject *writer = PyObject_GetAttrString(S.registry, "writer");
    PyObject *view = writer ? PyObject_CallMethod(writer, method, "Ln", (long long)tid, slots)
                            : NULL;
    Py_XDECREF(writer);
    int got = 0;
    if (view != NULL && view != Py_None &&
        PyObject_GetBuffer(view, &b->view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) == 0) {
        /* An events block may hold fewer slots than asked (the rest of a segment): its size says */
        Py_ssize_t given = (b->view.len / 8 - HEAD_WORDS) / slot_words;
        if (given >= 1) {
            b->data = b->view.buf;
            b->slots = given;
            b->mapped = 1;
            got = 1;
        }
        else {
            PyBuffer_Release(&b->view);
        }
    }
    Py_XDECREF(view);
    if (PyErr_Occurred())
        report_error();
    return got;
}

static inline void
use_events(Thread *t)
{
    t->events = t->ev.data ? (double *)t->ev.data : scratch_events;
}

static inline void
use_stack(Thread *t)
{
    t->stack = (Call *)(t->st.data + HEAD_WORDS * 8);
}

/* Room for the next finished call: a new events block (in a fork: a larger private one). */
static void
new_events(Thread *t)
{
    Block b = {0};
    if (t->private) {
        Py_ssize_t slots = t->ev.slots * 2 > FIRST_EVENT_SLOTS ? t->ev.slots * 2 : FIRST_EVENT_SLOTS;
        if (block_private(&b, slots, 3)) {
            if (t->ev.data != NULL)
                memcpy(b.data, t->ev.data, (HEAD_WORDS + 3 * t->count) * 8);
            block_release(&t->ev);
            t->ev = b;
        }
        else {
            t->count = 0; /* out of memory: what this fork window recorded goes */
        }
        use_events(t);
        return;
    }
    Py_ssize_t slots = t->ev.mapped ? t->ev.slots * 2 : FIRST_EVENT_SLOTS;
    if (slots > S.last_event_slots)
        slots = S.last_event_slots;
    if (!block_from_writer(&b, "events_block", t->tid, slots, 3) &&
        !block_private(&b, FIRST_EVENT_SLOTS, 3)) {
        b.slots = 16; /* the scratch block: recording stops (the writer said why) */
    }
    block_release(&t->ev);
    t->ev = b;
    t->count = 0;
    use_events(t);
}

/* Moves the open calls to a record of at least `slots` slots; 0 when there is no room at all. */
static int
move_stack(Thread *t, Py_ssize_t slots, int to_file)
{
    Block b = {0};
    if (!(to_file && block_from_writer(&b, "stack_block", t->tid, slots, 2)) &&
        !block_private(&b, slots, 2))
        return 0;
    if (t->st.data != NULL && t->depth)
        memcpy(b.data + HEAD_WORDS * 8, t->stack, t->depth * sizeof(Call));
    ((int64_t *)b.data)[0] = t->tid;
    publish_depth((int64_t *)b.data + 1, t->depth);
    block_release(&t->st);
    t->st = b;
    use_stack(t);
    return 1;
}

static int
grow_stack(Thread *t)
{
    Py_ssize_t slots = t->st.slots ? t->st.slots * 2 : FIRST_STACK_SLOTS;
    return move_stack(t, slots, !t->private);
}

/* --- threads ------------------------------------------------------------------------------ */

/* Releases the tokens of `t`'s slots from `from` up (slots dropped, or recording stopped). Each is
 * taken out before its release, which may run Python code (and so other threads, or this thread's
 * events when called outside a callback): the array and its bounds are read again each time. */
static void
release_tokens(Thread *t, Py_ssize_t from)
{
    for (Py_ssize_t i = from < 0 ? 0 : from; i < t->token_slots; i++) {
        PyObject *token = t->tokens[i];
        if (token != NULL) {
            t->tokens[i] = NULL;
            Py_DECREF(token);
        }
    }
}

/* Room for tokens in the first `slots` slots (the new ones NULL); 0 when out of memory. */
static int
reserve_tokens(Thread *t, Py_ssize_t slots)
{
    if (slots <= t->token_slots)
        return 1;
    Py_ssize_t size = t->token_slots ? t->token_slots * 2 : FIRST_STACK_SLOTS;
    if (size < slots)
        size = slots;
    if (size < t->st.slots)
        size = t->st.slots; /* as many as the stack has */
    PyObject **tokens = PyMem_RawRealloc(t->tokens, (size_t)size * sizeof(PyObject *));
    if (tokens == NULL)
        return 0;
    memset(tokens + t->token_slots, 0, (size_t)(size - t->token_slots) * sizeof(PyObject *));
    t->tokens = tokens;
    t->token_slots = size;
    return 1;
}

static void drop_value_blocks(Thread *t);

static void
thread_dealloc(Thread *t)
{
    drop_value_blocks(t);
    release_tokens(t, 0);
    PyMem_RawFree(t->tokens);
    t->tokens = NULL;
    t->token_slots = 0;
    Py_XDECREF(t->state);
    block_release(&t->st);
    block_release(&t->ev);
    block_release(&t->saved_st);
    block_release(&t->saved_ev);
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

/* The thread's native id, as the session's ThreadState knows it. */
static int64_t
read_tid(PyObject *state)
{
    PyObject *tid = PyObject_GetAttrString(state, "tid");
    long long value = tid ? PyLong_AsLongLong(tid) : 0;
    Py_XDECREF(tid);
    if (PyErr_Occurred()) {
        report_error();
        value = 0;
    }
    return value;
}

/* The calling thread's record, created on its first event (the session names it). */
static Thread *
thread_get(void)
{
    Thread *t = current;
    if (t != NULL)
        return t != &no_thread ? t : NULL;
    PyObject *state = PyObject_CallMethod(S.registry, "new_thread", NULL);
    t = state ? PyObject_New(Thread, &ThreadType) : NULL;
    if (t == NULL) {
        Py_XDECREF(state);
        report_error();
        current = &no_thread; /* record nothing in this thread rather than fail every event */
        return NULL;
    }
    /* Zeroed from the state on: PyObject_New leaves the fields as they were. */
    memset((char *)t + offsetof(Thread, state), 0, sizeof(Thread) - offsetof(Thread, state));
    t->state = state;
    t->tid = read_tid(state);
    use_events(t);
    if (PyList_Append(S.threads, (PyObject *)t) < 0 || !grow_stack(t)) {
        Py_DECREF(t);
        report_error();
        current = &no_thread;
        return NULL;
    }
    Py_DECREF(t); /* the list owns it */
    current = t;
    pthread_setspecific(exit_key, t);
    return t;
}

/* Forgets the records of threads that have ended (their blocks stay in the file). Releasing a
 * record releases its tokens, which may run Python code and so other threads, which may reap too:
 * the list's size is read again each time. */
static void
reap_threads(void)
{
    for (Py_ssize_t i = PyList_GET_SIZE(S.threads) - 1; i >= 0; i--) {
        if (i >= PyList_GET_SIZE(S.threads))
            continue;
        Thread *t = (Thread *)PyList_GET_ITEM(S.threads, i);
        if (__atomic_load_n(&t->ended, __ATOMIC_ACQUIRE) && t != current &&
            PySequence_DelItem(S.threads, i) < 0)
            report_error();
    }
}

/* --- pairing ---------------------------------------------------------------------------- */

static inline void
emit(Thread *t, int64_t start, int64_t duration, int32_t name_id)
{
    if (t->count == t->ev.slots)
        new_events(t);
    double *out = t->events + HEAD_WORDS + 3 * t->count;
    out[0] = (double)start;
    out[1] = (double)duration;
    out[2] = (double)name_id;
    t->count++;
    publish_count(t->events + 1, t->count);
}

static inline void
push(Thread *t, int32_t name_id, int64_t start)
{
    if (t->depth == t->st.slots && !grow_stack(t)) {
        t->lost++;
        return;
    }
    Call *call = &t->stack[t->depth];
    call->start = start;
    call->name_id = name_id;
    t->depth++;
    publish_depth((int64_t *)t->st.data + 1, t->depth);
    if (name_id > 0 && t->depth > S.deepest)
        S.deepest = t->depth; /* recorded calls only: not those past the depth limit */
}

/* The depth limit, decided when a call starts (as pairing.py does). */
static inline int32_t
admit(Thread *t, int32_t name_id)
{
    if (name_id < 0)
        return -1;
    if (t->depth + t->lost >= S.max_depth)
        return -1;
    return name_id;
}

/* The periodic work, on the entry whose clock passed S.check_at. */
static inline void
check(int64_t now)
{
    if (now > S.check_at) {
        S.check_at = now + S.check_interval_ns;
        calibrate();
        reap_threads();
    }
}

/* A start that gets no token: a resume (3.12+), a C call, a call not recorded. */
static inline void
enter(Thread *t, int32_t name_id)
{
    name_id = admit(t, name_id);
    int64_t now = now_ns(); /* the clock last on entry: our own time stays outside */
    push(t, name_id, now);
    check(now);
}

/*
 * Values mode (configure(values=...)): the `values` object (session side) turns a recorded Python
 * call's arguments and result into text and writes them; the core only calls it at two moments:
 *
 * - values.start(frame, tid, depth, name_id) -> token, when a recorded Python call starts (after
 *   admit(), before the clock is read for its start): `frame` the frame that starts, `depth` the
 *   slot it takes (the depth before the push). 3.8-3.11: every "call" event (a generator's resumes
 *   too: the frame tells them apart); 3.12+: PY_START only (PY_RESUME and PY_THROW get no token).
 *   The token (None: no token) is kept, a strong reference, beside the call's stack slot.
 * - values.finish(tid, start, duration, name_id, token, retval) -> written, when a slot holding a
 *   token ends (return, yield, unwind) and its duration is at least min_ns, after the clock is
 *   read and before the depth goes down: retval the value returned or yielded, values.NO_VALUE
 *   when the call ends by an exception. A truthy `written` means the session wrote the call
 *   itself: it is not stored in the events block; otherwise it is, as any call. Then the token is
 *   released (a call shorter than min_ns: only that).
 *
 * With native values (configure(native_values=...)), native_start and native_finish stand for
 * the two calls, at the same moments, with the same results (see below).
 *
 * An error raised by either is reported (report_error) and taken as None / not written. The
 * interpreter reports no events while a callback runs, so neither call can start or end a call
 * of this thread; but either can run other threads (which may move this thread's blocks: resume,
 * stop) and the thread's record is read again after each.
 */
static PyObject *
values_start(PyObject *frame, int64_t tid, Py_ssize_t depth, int32_t name_id)
{
    PyObject *numbers[3] = {PyLong_FromLongLong(tid), PyLong_FromSsize_t(depth),
                            PyLong_FromLong(name_id)};
    PyObject *token = NULL;
    if (numbers[0] != NULL && numbers[1] != NULL && numbers[2] != NULL) {
        PyObject *args[4] = {frame, numbers[0], numbers[1], numbers[2]};
        token = VECTORCALL(S.values_start, args, 4, NULL);
    }
    for (int i = 0; i < 3; i++)
        Py_XDECREF(numbers[i]);
    if (token == NULL)
        report_error();
    else if (token == Py_None)
        Py_CLEAR(token);
    return token;
}

static int
values_finish(int64_t tid, int64_t start, int64_t duration, int32_t name_id, PyObject *token,
              PyObject *retval)
{
    PyObject *numbers[4] = {PyLong_FromLongLong(tid), PyLong_FromLongLong(start),
                            PyLong_FromLongLong(duration), PyLong_FromLong(name_id)};
    PyObject *result = NULL;
    if (numbers[0] != NULL && numbers[1] != NULL && numbers[2] != NULL && numbers[3] != NULL) {
        PyObject *args[6] = {numbers[0], numbers[1], numbers[2], numbers[3], token, retval};
        result = VECTORCALL(S.values_finish, args, 6, NULL);
    }
    for (int i = 0; i < 4; i++)
        Py_XDECREF(numbers[i]);
    int written = result != NULL ? PyObject_IsTrue(result) : 0;
    Py_XDECREF(result);
    if (written < 0 || PyErr_Occurred()) {
        report_error();
        written = 0;
    }
    return written;
}

/*
 * Native values (configure(native_values=...)): what call_values.CallValues.start and finish do,
 * done here, byte for byte, so that a call costs no Python code in the common case.
 *
 * - native_start, when a recorded Python call starts: 3.8-3.11, no token for a generator's resume
 *   (values.is_resume); without --log_func_args the token is True; else the arguments' text
 *   (values.arguments_json: `{"parameter":"value text",...}`) is the token (a bytes object) and
 *   goes into the slot of `depth` in the thread's `O` record (a larger record is asked for when
 *   the stack outgrows it, with the slots below copied).
 * - native_finish, when a call with a token ends: the call is written whole into the thread's `V`
 *   block (a new block when it is full: 16 KiB, then twice the last, at most 1 MiB, at least the
 *   call's size): its numbers, then `{"func_args":ARGS,"return_value":"TEXT"}` (return_value with
 *   --log_func_retval only, and not after a raise).
 *
 * Blocks come from the writer (values_block, open_args_block), only when one is full or missing.
 * A fork child uses none before its own file (after_fork): its calls go to its events block, its
 * open calls' arguments are not kept. A value's text (values.text_of) is rendered here for exact
 * ints in (-2**62, 2**62), bools, None, exact floats and exact strs (their reprs are CPython's C
 * code), by text_of (Python: the program's reprs run in its repr thread) for every other value;
 * it is JSON-quoted here as _json.encode_basestring_ascii does. An error is reported and taken as no
 * token / not written, as CallValues does.
 */
#define VALUE_LIMIT 256           /* values.VALUE_LIMIT: a longer text is cut, ending in "..." */
#define SMALL_INT (1LL << 62)     /* values._SMALL_INT */
#define OPEN_ARGS_SLOT 512        /* writer.OPEN_ARGS_SLOT */
#define SLOT_TEXT (OPEN_ARGS_SLOT - 8)
#define FIRST_VALUES_BYTES (16 << 10)
#define LAST_VALUES_BYTES (1 << 20)
#define FIRST_OPEN_SLOTS 16
#define VALUES_CALL_BYTES 32 /* start, duration, name id (float64), text bytes (u32), 4 zeros */
#define CO_RESUMABLE (0x20 | 0x80 | 0x200) /* generator, coroutine, async generator */
static const char TOO_LONG[] = "{\"(arguments)\":\"too long to keep for a call still open\"}";

/* Text being assembled: on the stack while short. */
typedef struct {
    char *data;
    size_t len, cap;
    int heap;
    char local[1024];
} Text;

static inline void
text_init(Text *t)
{
    t->data = t->local;
    t->len = 0;
    t->cap = sizeof(t->local);
    t->heap = 0;
}

static void
text_free(Text *t)
{
    if (t->heap)
        PyMem_Free(t->data);
    text_init(t);
}

/* Room for `more` bytes; 0 (MemoryError) when out of memory. */
static int
text_grow(Text *t, size_t more)
{
    if (t->len + more <= t->cap)
        return 1;
    size_t cap = t->cap * 2 > t->len + more ? t->cap * 2 : t->len + more;
    char *data = t->heap ? PyMem_Realloc(t->data, cap) : PyMem_Malloc(cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return 0;
    }
    if (!t->heap)
        memcpy(data, t->data, t->len);
    t->data = data;
    t->cap = cap;
    t->heap = 1;
    return 1;
}

static inline int
text_put(Text *t, const char *bytes, size_t n)
{
    if (!text_grow(t, n))
        return 0;
    memcpy(t->data + t->len, bytes, n);
    t->len += n;
    return 1;
}

#define TEXT_PUT_LITERAL(t, s) text_put((t), (s), sizeof(s) - 1)

/* The first `n` characters of `str` as a JSON string, as _json.encode_basestring_ascii writes it
 * (ASCII: \" \\ \b \f \n \r \t, \uXXXX for the rest outside ' '..'~', surrogate pairs above
 * U+FFFF), with "..." before the closing quote when `dots`. */
static int
put_quoted(Text *out, PyObject *str, Py_ssize_t n, int dots)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(str) < 0)
        return 0;
#endif
    if (!text_grow(out, (size_t)n * 12 + 5))
        return 0;
    static const char hex[] = "0123456789abcdef";
    char *p = out->data + out->len;
    int kind = PyUnicode_KIND(str);
    const void *data = PyUnicode_DATA(str);
    *p++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c >= ' ' && c <= '~' && c != '\\' && c != '"') {
            *p++ = (char)c;
            continue;
        }
        *p++ = '\\';
        switch (c) {
        case '\\': *p++ = '\\'; break;
        case '"': *p++ = '"'; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        default:
            if (c >= 0x10000) {
                Py_UCS4 high = 0xd800 | ((c - 0x10000) >> 10);
                *p++ = 'u';
                *p++ = hex[(high >> 12) & 0xf];
                *p++ = hex[(high >> 8) & 0xf];
                *p++ = hex[(high >> 4) & 0xf];
                *p++ = hex[high & 0xf];
                *p++ = '\\';
                c = 0xdc00 | ((c - 0x10000) & 0x3ff);
            }
            *p++ = 'u';
            *p++ = hex[(c >> 12) & 0xf];
            *p++ = hex[(c >> 8) & 0xf];
            *p++ = hex[(c >> 4) & 0xf];
            *p++ = hex[c & 0xf];
        }
    }
    if (dots) {
        memcpy(p, "...", 3);
        p += 3;
    }
    *p++ = '"';
    out->len = (size_t)(p - out->data);
    return 1;
}

/* A text cut as values._cut does: at most VALUE_LIMIT characters, the last three "..." when cut. */
static int
put_quoted_cut(Text *out, PyObject *str)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(str);
    return n > VALUE_LIMIT ? put_quoted(out, str, VALUE_LIMIT - 3, 1) : put_quoted(out, str, n, 0);
}

static int
put_int(Text *out, long long value)
{
    char digits[24];
    int at = (int)sizeof(digits);
    unsigned long long u = value < 0 ? 0ULL - (unsigned long long)value : (unsigned long long)value;
    digits[--at] = '"';
    do {
        digits[--at] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (value < 0)
        digits[--at] = '-';
    digits[--at] = '"';
    return text_put(out, digits + at, sizeof(digits) - (size_t)at);
}

/* quote(values.text_of(value)): 1, or 0 with an error. */
static int
put_value(Text *out, PyObject *value)
{
    if (PyLong_CheckExact(value)) {
        int overflow;
        long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (!overflow && number > -SMALL_INT && number < SMALL_INT)
            return put_int(out, number);
        if (number == -1 && PyErr_Occurred())
            return 0;
    }
    else if (value == Py_None) {
        return TEXT_PUT_LITERAL(out, "\"None\"");
    }
    else if (value == Py_True) {
        return TEXT_PUT_LITERAL(out, "\"True\"");
    }
    else if (value == Py_False) {
        return TEXT_PUT_LITERAL(out, "\"False\"");
    }
    else if (PyFloat_CheckExact(value)) {
        /* float's repr (floatobject.c), never longer than VALUE_LIMIT, plain ASCII */
        char *repr = PyOS_double_to_string(PyFloat_AS_DOUBLE(value), 'r', 0, Py_DTSF_ADD_DOT_0,
                                           NULL);
        if (repr == NULL)
            return 0;
        int ok = text_grow(out, strlen(repr) + 2);
        if (ok) {
            out->data[out->len++] = '"';
            text_put(out, repr, strlen(repr));
            out->data[out->len++] = '"';
        }
        PyMem_Free(repr);
        return ok;
    }
    else if (PyUnicode_CheckExact(value)) {
        /* values.text_of: the repr of (at most) the first VALUE_LIMIT + 1 characters, cut */
        Py_ssize_t n = PyUnicode_GET_LENGTH(value);
        PyObject *head = n > VALUE_LIMIT + 1 ? PyUnicode_Substring(value, 0, VALUE_LIMIT + 1)
                                             : Py_NewRef(value);
        PyObject *repr = head != NULL ? PyObject_Repr(head) : NULL;
        Py_XDECREF(head);
        if (repr == NULL)
            return 0;
        int ok = put_quoted_cut(out, repr);
        Py_DECREF(repr);
        return ok;
    }
    /* any other value: values.text_of (its reprs never reach the program) */
    PyObject *text = VECTORCALL(S.text_of, &value, 1, NULL);
    if (text == NULL)
        return 0;
    int ok = 0;
    if (PyUnicode_Check(text))
        ok = put_quoted(out, text, PyUnicode_GET_LENGTH(text), 0);
    else
        PyErr_SetString(PyExc_TypeError, "text_of() returned no str");
    Py_DECREF(text);
    return ok;
}

static void
free_parameters(void *parameters)
{
    Py_XDECREF((PyObject *)parameters);
}

/* A code object's parameters (values._parameters_of: co_varnames up to the argument count, *args
 * and **kwargs included), as a tuple (name, b'"name":', ...), cached in its co_extra slot: a new
 * reference, or NULL with an error. */
static PyObject *
parameters_of(PyObject *code)
{
    void *extra = NULL;
    if (GET_EXTRA(code, S.params_index, &extra) < 0)
        return NULL;
    if (extra != NULL)
        return Py_NewRef((PyObject *)extra);
    PyObject *argcount = PyObject_GetAttrString(code, "co_argcount");
    PyObject *kwonly = argcount ? PyObject_GetAttrString(code, "co_kwonlyargcount") : NULL;
    PyObject *flags = kwonly ? PyObject_GetAttrString(code, "co_flags") : NULL;
    PyObject *varnames = flags ? PyObject_GetAttrString(code, "co_varnames") : NULL;
    PyObject *parameters = NULL;
    if (varnames != NULL && PyTuple_Check(varnames)) {
        long bits = PyLong_AsLong(flags);
        Py_ssize_t count = PyLong_AsSsize_t(argcount) + PyLong_AsSsize_t(kwonly) +
                           ((bits & 0x04) != 0) + ((bits & 0x08) != 0); /* *args, **kwargs */
        if (count > PyTuple_GET_SIZE(varnames))
            count = PyTuple_GET_SIZE(varnames);
        if (count < 0)
            count = 0;
        parameters = PyErr_Occurred() ? NULL : PyTuple_New(2 * count);
        for (Py_ssize_t i = 0; parameters != NULL && i < count; i++) {
            PyObject *name = PyTuple_GET_ITEM(varnames, i);
            Text key;
            text_init(&key);
            PyObject *bytes = NULL;
            if (PyUnicode_Check(name) && put_quoted(&key, name, PyUnicode_GET_LENGTH(name), 0) &&
                text_put(&key, ":", 1))
                bytes = PyBytes_FromStringAndSize(key.data, (Py_ssize_t)key.len);
            else if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "a parameter name is no str");
            text_free(&key);
            if (bytes == NULL) {
                Py_CLEAR(parameters);
                break;
            }
            PyTuple_SET_ITEM(parameters, 2 * i, Py_NewRef(name));
            PyTuple_SET_ITEM(parameters, 2 * i + 1, bytes);
        }
    }
    else if (varnames != NULL) {
        PyErr_SetString(PyExc_TypeError, "co_varnames is no tuple");
    }
    Py_XDECREF(argcount);
    Py_XDECREF(kwonly);
    Py_XDECREF(flags);
    Py_XDECREF(varnames);
    if (parameters != NULL && SET_EXTRA(code, S.params_index, Py_NewRef(parameters)) < 0) {
        Py_DECREF(parameters); /* not cached: the reference the slot would have held */
        PyErr_Clear();
    }
    return parameters;
}

/* values.arguments_json(frame) into `out`: 1, or 0 with an error. A parameter the frame does not
 * hold (deleted before this look) is left out. */
static int
put_arguments(Text *out, PyFrameObject *frame)
{
    PyCodeObject *code = PyFrame_GetCode(frame);
    PyObject *parameters = parameters_of((PyObject *)code);
    if (parameters == NULL) {
        Py_DECREF(code);
        return 0;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(parameters) / 2;
    int ok = TEXT_PUT_LITERAL(out, "{");
    PyObject *locals = NULL; /* frame.f_locals, where the values are read from it */
#if PY_VERSION_HEX < 0x030B0000
    /* 3.8-3.10: the fast locals themselves (what f_locals copies), but for code with cells (an
     * argument in a cell is not in its fast slot) */
    int fast = PyTuple_GET_SIZE(code->co_cellvars) == 0;
    if (ok && count && !fast) {
        locals = PyObject_GetAttrString((PyObject *)frame, "f_locals");
        ok = locals != NULL;
    }
#elif PY_VERSION_HEX < 0x030C0000
    if (ok && count) { /* 3.11: f_locals (a dict of the fast locals) */
        locals = PyFrame_GetLocals(frame);
        ok = locals != NULL;
    }
#endif
    int first = 1;
    for (Py_ssize_t i = 0; ok && i < count; i++) {
        PyObject *name = PyTuple_GET_ITEM(parameters, 2 * i);
        PyObject *value;
#if PY_VERSION_HEX < 0x030B0000
        if (fast) {
            value = frame->f_localsplus[i];
            Py_XINCREF(value);
        }
        else
#endif
#if PY_VERSION_HEX < 0x030C0000
        {
            value = PyObject_GetItem(locals, name);
            if (value == NULL && PyErr_ExceptionMatches(PyExc_KeyError))
                PyErr_Clear();
        }
#else
        /* 3.12+: the frame's variable (what f_locals, a dict or a proxy, gives for it) */
        value = PyFrame_GetVar(frame, name);
        if (value == NULL && PyErr_ExceptionMatches(PyExc_NameError))
            PyErr_Clear();
#endif
        if (value == NULL) {
            ok = !PyErr_Occurred();
            continue;
        }
        PyObject *key = PyTuple_GET_ITEM(parameters, 2 * i + 1);
        ok = (first || text_put(out, ",", 1)) &&
             text_put(out, PyBytes_AS_STRING(key), (size_t)PyBytes_GET_SIZE(key)) &&
             put_value(out, value);
        first = 0;
        Py_DECREF(value);
    }
    ok = ok && TEXT_PUT_LITERAL(out, "}");
    Py_XDECREF(locals);
    Py_DECREF(parameters);
    Py_DECREF(code);
    return ok;
}

#if !MONITORING
/* values.is_resume(frame): 1 when the "call" event resumes a generator or coroutine, 0 when it
 * starts a call, -1 with an error. */
static int
is_resume(PyFrameObject *frame)
{
    PyCodeObject *code = PyFrame_GetCode(frame);
    int flags = code->co_flags;
#if PY_VERSION_HEX < 0x030B0000
    Py_DECREF(code);
    return (flags & CO_RESUMABLE) && frame->f_lasti >= 0; /* -1 before the first instruction */
#else
    if (!(flags & CO_RESUMABLE)) {
        Py_DECREF(code);
        return 0;
    }
    /* 3.11: at a RESUME, whose argument is 0 at the start: co_code[f_lasti + 1] != 0 */
    PyObject *bytes = PyCode_GetCode(code);
    Py_DECREF(code);
    if (bytes == NULL)
        return -1;
    Py_ssize_t size = PyBytes_GET_SIZE(bytes), at = (Py_ssize_t)PyFrame_GetLasti(frame) + 1;
    if (at < 0)
        at += size; /* as Python indexes */
    int resume = -1;
    if (at < 0 || at >= size)
        PyErr_SetString(PyExc_IndexError, "index out of range");
    else
        resume = ((const unsigned char *)PyBytes_AS_STRING(bytes))[at] != 0;
    Py_DECREF(bytes);
    return resume;
#endif
}
#endif

/* Forgets the thread's V and O blocks (they stay in their file). */
static void
drop_value_blocks(Thread *t)
{
    if (t->v_data != NULL)
        PyBuffer_Release(&t->v_view);
    if (t->o_data != NULL)
        PyBuffer_Release(&t->o_view);
    t->v_data = t->o_data = NULL;
    t->v_size = t->v_used = t->o_slots = 0;
    t->values_refused = 0;
}

/* The thread may store into its V and O blocks: not in a fork child before its own file, whose
 * blocks are still the parent's (while a fork is in progress, the pid tells, as writer._parents()
 * does); the parent stores on meanwhile, as CallValues does. */
static inline int
values_writable(Thread *t)
{
    return !t->private || getpid() == t->fork_pid;
}

/* The thread's blocks are the current file's (an older file's are dropped first). */
static inline void
values_sync(Thread *t)
{
    if (t->values_gen != S.values_gen) {
        drop_value_blocks(t);
        t->values_gen = S.values_gen;
    }
}

/* A new V or O block from the writer (`method` values_block or open_args_block, of `size` bytes or
 * slots), at least `least` bytes long: 1 with `out` held, else 0 (refused: values_refused set; an
 * error is reported; the file changed meanwhile: dropped). */
static int
value_block_from_writer(Thread *t, const char *method, Py_ssize_t size, Py_ssize_t least,
                        Py_buffer *out)
{
    unsigned gen = S.values_gen;
    PyObject *writer = PyObject_GetAttrString(S.registry, "writer");
    PyObject *view = writer ? PyObject_CallMethod(writer, method, "Ln", (long long)t->tid, size)
                            : NULL;
    Py_XDECREF(writer);
    int got = 0;
    if (view == Py_None) {
        if (gen == S.values_gen)
            t->values_refused = 1;
    }
    else if (view != NULL &&
             PyObject_GetBuffer(view, out, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) == 0) {
        if (gen == S.values_gen && out->len >= least)
            got = 1;
        else
            PyBuffer_Release(out);
    }
    Py_XDECREF(view);
    if (PyErr_Occurred())
        report_error();
    return got;
}

/* CallValues._grow_open: a larger O record with the slots of the calls below `depth`. */
static int
grow_open(Thread *t, Py_ssize_t depth)
{
    Py_ssize_t slots = t->o_slots * 2 > FIRST_OPEN_SLOTS ? t->o_slots * 2 : FIRST_OPEN_SLOTS;
    if (slots < depth + 1)
        slots = depth + 1;
    Py_buffer view;
    if (!value_block_from_writer(t, "open_args_block", slots, 16 + slots * OPEN_ARGS_SLOT, &view))
        return 0;
    if (t->o_data != NULL) {
        Py_ssize_t below = depth < t->o_slots ? depth : t->o_slots;
        memcpy((char *)view.buf + 16, t->o_data + 16, (size_t)below * OPEN_ARGS_SLOT);
        PyBuffer_Release(&t->o_view);
    }
    t->o_view = view;
    t->o_data = view.buf;
    t->o_slots = slots;
    return 1;
}

/* CallValues._new_values: a new V block with room for `needed` bytes at least. */
static int
new_values(Thread *t, Py_ssize_t needed)
{
    Py_ssize_t size = t->v_size * 2 > FIRST_VALUES_BYTES ? t->v_size * 2 : FIRST_VALUES_BYTES;
    if (size > LAST_VALUES_BYTES)
        size = LAST_VALUES_BYTES;
    if (size < needed)
        size = needed;
    Py_buffer view;
    if (!value_block_from_writer(t, "values_block", size, 16 + size, &view))
        return 0;
    if (t->v_data != NULL)
        PyBuffer_Release(&t->v_view);
    t->v_view = view;
    t->v_data = view.buf;
    t->v_size = size;
    t->v_used = 0;
    return 1;
}

/* CallValues.start: the token of a call that starts at `depth` in `frame` (a new reference; NULL
 * for none, an error reported). */
static PyObject *
native_start(Thread *t, PyFrameObject *frame, Py_ssize_t depth, int32_t name_id)
{
#if !MONITORING
    int resume = is_resume(frame);
    if (resume != 0) {
        if (resume < 0)
            report_error();
        return NULL;
    }
#endif
    if (!S.log_args)
        return Py_NewRef(Py_True);
    Text text;
    text_init(&text);
    PyObject *token = NULL;
    if (put_arguments(&text, frame))
        token = PyBytes_FromStringAndSize(text.data, (Py_ssize_t)text.len);
    if (token == NULL) {
        text_free(&text);
        report_error();
        return NULL;
    }
    if (values_writable(t)) { /* (Python code may have run: the blocks are read from here on) */
        values_sync(t);
        if (!t->values_refused && (depth < t->o_slots || grow_open(t, depth))) {
            const char *data = text.data;
            size_t len = text.len;
            if (len > SLOT_TEXT) {
                data = TOO_LONG;
                len = sizeof(TOO_LONG) - 1;
            }
            char *slot = t->o_data + 16 + depth * OPEN_ARGS_SLOT;
            memcpy(slot + 8, data, len);
            /* the head (text bytes, name id) after the text it covers */
            uint64_t head = (uint64_t)(uint32_t)len | (uint64_t)(uint32_t)name_id << 32;
            __atomic_store_n((uint64_t *)slot, head, __ATOMIC_RELEASE);
        }
    }
    text_free(&text);
    return token;
}

/* CallValues.finish: 1 when the call went whole into the thread's V block. `retval` NULL: the call
 * ended by an exception. */
static int
native_finish(Thread *t, int64_t start, int64_t duration, int32_t name_id, PyObject *token,
              PyObject *retval)
{
    int returned = S.log_retval && retval != NULL;
    Text text;
    text_init(&text);
    if (returned && !put_value(&text, retval)) {
        text_free(&text);
        report_error();
        return 0;
    }
    if (!values_writable(t)) { /* (Python code may have run: the blocks are read from here on) */
        text_free(&text);
        return 0;
    }
    values_sync(t);
    int args = token != Py_True && PyBytes_Check(token);
    const char *args_text = args ? PyBytes_AS_STRING(token) : NULL;
    size_t args_len = args ? (size_t)PyBytes_GET_SIZE(token) : 0;
    /* {"func_args":ARGS,"return_value":TEXT} */
    size_t len = 2 + (args ? 12 + args_len : 0) + (args && returned) +
                 (returned ? 15 + text.len : 0);
    Py_ssize_t size = VALUES_CALL_BYTES + (Py_ssize_t)((len + 7) & ~(size_t)7);
    if (t->values_refused ||
        ((t->v_data == NULL || t->v_used + size > t->v_size) && !new_values(t, size))) {
        text_free(&text);
        return 0;
    }
    char *at = t->v_data + 16 + t->v_used;
    double numbers[3] = {(double)start, (double)duration, (double)name_id};
    uint32_t length = (uint32_t)len;
    memcpy(at, numbers, sizeof(numbers));
    memcpy(at + 24, &length, 4);
    memset(at + 28, 0, 4);
    char *p = at + VALUES_CALL_BYTES;
    *p++ = '{';
    if (args) {
        memcpy(p, "\"func_args\":", 12);
        memcpy(p + 12, args_text, args_len);
        p += 12 + args_len;
        if (returned)
            *p++ = ',';
    }
    if (returned) {
        memcpy(p, "\"return_value\":", 15);
        memcpy(p + 15, text.data, text.len);
        p += 15 + text.len;
    }
    *p++ = '}';
    memset(p, 0, (size_t)(at + size - p));
    t->v_used += size;
    /* bytes used, after the call it covers */
    __atomic_store_n((int64_t *)(t->v_data + 8), (int64_t)t->v_used, __ATOMIC_RELEASE);
    text_free(&text);
    return 1;
}

/* The start of a recorded call in values mode (see above). `frame`: 3.8-3.11 the profile hook's;
 * 3.12+ NULL, the frame of the code that starts is read here. */
static NOINLINE void
enter_with_token(Thread *t, int32_t name_id, PyFrameObject *frame)
{
#if MONITORING
    frame = PyEval_GetFrame(); /* a PY_START callback's current frame is the one that starts */
#endif
    PyObject *token = NULL;
    if (frame != NULL) {
        Py_INCREF(t);
        token = S.values_native ? native_start(t, frame, t->depth, name_id)
                                : values_start((PyObject *)frame, t->tid, t->depth, name_id);
        int moved = current != t; /* never seen: an entry point took the record meanwhile */
        Py_DECREF(t);
        if (moved) {
            Py_XDECREF(token);
            return;
        }
    }
    else if (PyErr_Occurred()) {
        report_error();
    }
    if (token != NULL && !reserve_tokens(t, t->depth + 1))
        Py_CLEAR(token); /* out of memory: a call without a token */
    int64_t now = now_ns();
    Py_ssize_t slot = t->depth;
    push(t, name_id, now);
    if (token != NULL) {
        /* (push may run Python code, a new stack block: the array is read again) */
        if (t->depth > slot && slot < t->token_slots) {
            PyObject *old = t->tokens[slot];
            t->tokens[slot] = token;
            Py_XDECREF(old);
        }
        else {
            Py_DECREF(token); /* no room on the stack: the call is not recorded */
        }
    }
    check(now);
}

/* A recorded Python call starts: values.start() first in values mode (one predictable branch
 * when it is off); not once recording stopped (stop() released every token: values is not
 * called again). */
static inline void
enter_call(Thread *t, int32_t name_id, PyFrameObject *frame)
{
    name_id = admit(t, name_id);
    if (__builtin_expect(S.values_start != NULL, 0) && name_id > 0 && S.active) {
        enter_with_token(t, name_id, frame);
        return;
    }
    int64_t now = now_ns(); /* the clock last on entry: our own time stays outside */
    push(t, name_id, now);
    check(now);
}

/* The innermost call, recorded and holding a token, ends at `now` (see above). */
static NOINLINE void
leave_with_token(Thread *t, int64_t now, PyObject *retval)
{
    Py_ssize_t slot = t->depth - 1;
    const Call *call = &t->stack[slot];
    int64_t start = call->start, duration = now - start;
    int32_t name_id = (int32_t)call->name_id;
    PyObject *token = t->tokens[slot];
    t->tokens[slot] = NULL; /* taken: nothing else releases it meanwhile */
    Py_INCREF(t);
    if (duration >= S.min_ns) {
        int written = 0;
        if (S.values_native)
            written = native_finish(t, start, duration, name_id, token, retval);
        else if (S.values_finish != NULL)
            written = values_finish(t->tid, start, duration, name_id, token,
                                    retval != NULL ? retval : S.no_value);
        if (!written && current == t)
            emit(t, start, duration, name_id);
    }
    Py_DECREF(token);
    /* After the store (and after the session wrote the call): killed in between, the call is
     * both finished and open, never neither. The record is read again (Python code ran). */
    if (current == t && t->depth > slot) {
        t->depth = slot;
        publish_depth((int64_t *)t->st.data + 1, t->depth);
    }
    Py_DECREF(t);
}

/* The innermost call ends at `now`; `retval`: what it returned or yielded, NULL when it ended by
 * an exception (or is a C call), for values mode. */
static inline void
leave(Thread *t, int64_t now, PyObject *retval)
{
    if (t->lost) {
        t->lost--;
        return;
    }
    if (t->depth == 0)
        return; /* a return from a call that started before recording did */
    Call *call = &t->stack[t->depth - 1];
    if (call->name_id > 0) {
        /* token_slots is 0 unless values mode gave a call a token: one predictable branch */
        if (t->depth <= t->token_slots && t->tokens[t->depth - 1] != NULL) {
            leave_with_token(t, now, retval);
            return;
        }
        int64_t duration = now - call->start;
        if (duration >= S.min_ns)
            emit(t, call->start, duration, (int32_t)call->name_id);
    }
    /* After the store: killed in between, the call is both finished and open (the reader keeps
     * the finished one), never neither. */
    t->depth--;
    publish_depth((int64_t *)t->st.data + 1, t->depth);
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

/* Asks the writer once per code object for its name id (-1 when the filters exclude it). */
static uintptr_t
decide(PyObject *code)
{
    int32_t name_id = -1;
    PyObject *writer = PyObject_GetAttrString(S.registry, "writer");
    PyObject *result = writer ? PyObject_CallMethod(writer, "code_id", "O", code) : NULL;
    Py_XDECREF(writer);
    if (result == NULL) {
        report_error();
    }
    else {
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
 * The name id of a C function. The key follows what c_names.CFunctionNames names: a builtin by
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
        enter_call(t, name_id, NULL);
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
        leave(t, now, args[2]); /* the value returned or yielded */
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
        leave(t, now, NULL); /* ended by an exception */
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
        leave(t, now, NULL);
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
        enter_call(t, name_id, frame); /* a generator's resume too (values: the frame tells) */
        break;
    }
    case PyTrace_RETURN:
        leave(t, now_ns(), arg); /* arg: the value returned or yielded, NULL on an exception */
        break;
    case PyTrace_C_CALL:
        if (!S.ignore_c)
            c_enter(t, arg);
        break;
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION:
        if (!S.ignore_c)
            leave(t, now_ns(), NULL);
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

/* configure(registry, ..., debug, values=None): what the callbacks record, from now on. The counts
 * (admitted, dropped, deepest) start again at 0. `values` not None: values mode (see
 * enter_with_token), its start, finish and NO_VALUE read here, once. */
static PyObject *
configure(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"registry", "last_event_slots", "check_interval_ns", "max_depth",
                               "cap", "min_ns", "ignore_c", "debug", "values", "native_values",
                               NULL};
    PyObject *registry, *values = Py_None, *native_values = Py_None;
    Py_ssize_t last_event_slots, max_depth;
    long long check_interval_ns, cap, min_ns;
    int ignore_c, debug, log_args = 0, log_retval = 0;
    PyObject *text_of = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OnLnLLpp|OO", keywords, &registry,
                                     &last_event_slots, &check_interval_ns, &max_depth, &cap,
                                     &min_ns, &ignore_c, &debug, &values, &native_values))
        return NULL;
    if (native_values != Py_None &&
        (values == Py_None ||
         !PyArg_ParseTuple(native_values, "ppO;native_values: (args, retval, text_of)", &log_args,
                           &log_retval, &text_of)))
    {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "native_values without values");
        return NULL;
    }
    if (last_event_slots < FIRST_EVENT_SLOTS) {
        PyErr_SetString(PyExc_ValueError, "last_event_slots is too small");
        return NULL;
    }
    PyObject *values_start = NULL, *values_finish = NULL, *no_value = NULL;
    if (values != Py_None) {
        values_start = PyObject_GetAttrString(values, "start");
        values_finish = values_start ? PyObject_GetAttrString(values, "finish") : NULL;
        no_value = values_finish ? PyObject_GetAttrString(values, "NO_VALUE") : NULL;
        if (no_value == NULL) {
            Py_XDECREF(values_start);
            Py_XDECREF(values_finish);
            return NULL;
        }
    }
    Py_XSETREF(S.values_start, values_start);
    Py_XSETREF(S.values_finish, values_finish);
    Py_XSETREF(S.no_value, no_value);
    S.values_native = text_of != NULL;
    S.log_args = log_args;
    S.log_retval = log_retval;
    Py_XSETREF(S.text_of, text_of != NULL ? Py_NewRef(text_of) : NULL);
    S.values_gen++; /* the threads' V and O blocks may be another writer's */
    S.admitted = S.dropped = S.deepest = 0;
    Py_XSETREF(S.registry, Py_NewRef(registry));
    S.last_event_slots = last_event_slots;
    S.check_interval_ns = check_interval_ns;
    S.check_at = 0;
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

static Thread *take_current(void);

/* Releases every thread's tokens (values mode): their calls, if they still end, are stored as
 * calls without one. The calling thread's events are ignored meanwhile (a release may run Python
 * code, which 3.12+ may still report until the tool is freed). */
static int
release_all_tokens(void)
{
    Thread *me = take_current();
    PyObject *threads = PyList_GetSlice(S.threads, 0, PY_SSIZE_T_MAX);
    for (Py_ssize_t i = 0; threads != NULL && i < PyList_GET_SIZE(threads); i++)
        release_tokens((Thread *)PyList_GET_ITEM(threads, i), 0);
    Py_XDECREF(threads);
    if (me != NULL)
        current = me;
    return threads != NULL ? 0 : -1;
}

static PyObject *
stop(PyObject *module, PyObject *unused)
{
    S.active = 0;
#if !MONITORING
    if (set_all_profiles(NULL) < 0)
        return NULL;
#endif
    if (release_all_tokens() < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* admit(): an event the session records outside calls (an instant, a counter, a span of the
 * in-program API) takes one place under the cap on events written whole (True), or is counted as
 * dropped (False). */
static PyObject *
admit_event(PyObject *module, PyObject *unused)
{
    if (S.admitted < S.cap) {
        S.admitted++;
        Py_RETURN_TRUE;
    }
    S.dropped++;
    Py_RETURN_FALSE;
}

/*
 * map_segment(fd, offset, size): `size` bytes of the file at `offset`, mapped MAP_SHARED, as a
 * writable memoryview that stays valid for the process's life (it is never unmapped: blocks point
 * into it). Unlike mmap.mmap before 3.13, it keeps no duplicate of the descriptor, which would take
 * one of the low numbers the program's own files get untraced. The pages are made present and
 * writable at once where the kernel can (MADV_POPULATE_WRITE, Linux 5.14+).
 */
static PyObject *
map_segment(PyObject *module, PyObject *args)
{
    int fd;
    long long offset;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "iLn", &fd, &offset, &size))
        return NULL;
    if (size <= 0 || offset < 0) {
        PyErr_SetString(PyExc_ValueError, "map_segment: a positive size and offset are needed");
        return NULL;
    }
    void *data = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
    if (data == MAP_FAILED)
        return PyErr_SetFromErrno(PyExc_OSError);
#if defined(__linux__)
    (void)madvise(data, (size_t)size, 23 /* MADV_POPULATE_WRITE; older kernels: EINVAL */);
#endif
    PyObject *view = PyMemoryView_FromMemory(data, size, PyBUF_WRITE);
    if (view == NULL)
        munmap(data, (size_t)size);
    return view;
}

static PyObject *
counts(PyObject *module, PyObject *unused)
{
    return Py_BuildValue("(Ln)", S.dropped, S.deepest);
}

/* The calling thread's record, or NULL; while it is out, the thread's events are ignored (the
 * moves below call Python code, which the profile hook of 3.8-3.11 reports). */
static Thread *
take_current(void)
{
    Thread *t = current;
    if (t == NULL || t == &no_thread)
        return NULL;
    current = &no_thread;
    return t;
}

/* The calling thread forks now: from here on it records into private memory (the parent's
 * mapping is shared with the child, which must never store into it). */
static PyObject *
before_fork(PyObject *module, PyObject *unused)
{
    Thread *t = take_current();
    if (t == NULL || t->private)
        goto done;
    Block st = t->st;
    Py_ssize_t depth = t->depth;
    Call *stack = t->stack;
    t->st = (Block){0};
    t->depth = 0;
    if (!block_private(&t->st, st.slots, 2)) {
        t->st = st; /* out of memory: the fork goes on, the child's stack is the parent's */
        goto done;
    }
    memcpy(t->st.data + HEAD_WORDS * 8, stack, depth * sizeof(Call));
    t->depth = depth;
    ((int64_t *)t->st.data)[1] = depth;
    use_stack(t);
    t->saved_st = st;
    t->saved_ev = t->ev;
    t->saved_count = t->count;
    t->ev = (Block){0};
    t->count = 0;
    use_events(t);
    t->private = 1;
    t->fork_pid = getpid();
done:
    if (t != NULL)
        current = t;
    Py_RETURN_NONE;
}

/* Stores the calls `t` recorded privately (in `ev`, `count` of them) into its current blocks. */
static void
store_private_events(Thread *t, Block *ev, Py_ssize_t count)
{
    const double *slot = (const double *)ev->data + HEAD_WORDS;
    for (Py_ssize_t i = 0; i < count; i++, slot += 3)
        emit(t, (int64_t)slot[0], (int64_t)slot[1], (int32_t)slot[2]);
    block_release(ev);
}

/* In the parent after a fork: back to the file's blocks, with what was recorded since. */
static PyObject *
after_fork_in_parent(PyObject *module, PyObject *unused)
{
    Thread *t = take_current();
    if (t == NULL || !t->private)
        goto done;
    t->private = 0;
    Block private_ev = t->ev;
    Py_ssize_t private_count = t->count;
    t->ev = t->saved_ev;
    t->count = t->saved_count;
    t->saved_ev = (Block){0};
    use_events(t);
    Block private_st = t->st;
    Call *private_stack = t->stack;
    t->st = t->saved_st;
    t->saved_st = (Block){0};
    use_stack(t);
    if (t->depth > t->st.slots) {
        /* deeper than the file's record: a larger one (copied from the private stack) */
        block_release(&t->st);
        t->st = private_st;
        t->stack = private_stack;
        if (!move_stack(t, t->depth, 1)) {
            t->depth = t->st.slots;
            release_tokens(t, t->depth); /* the calls that did not fit are gone */
        }
    }
    else {
        memcpy(t->stack, private_stack, t->depth * sizeof(Call));
        publish_depth((int64_t *)t->st.data + 1, t->depth);
        block_release(&private_st);
    }
    store_private_events(t, &private_ev, private_count);
done:
    if (t != NULL)
        current = t;
    Py_RETURN_NONE;
}

/* Gives `t` blocks in the new file: its open calls move there, and the calls it recorded since
 * the fork (or, resuming, nothing: they are in the old file). */
static void
to_new_file(Thread *t, int keep_events)
{
    Block old_ev = t->ev;
    Py_ssize_t old_count = t->count;
    block_release(&t->saved_st);
    block_release(&t->saved_ev);
    t->private = 0;
    t->ev = (Block){0};
    t->count = 0;
    use_events(t);
    Py_ssize_t slots = t->st.slots > FIRST_STACK_SLOTS ? t->st.slots : FIRST_STACK_SLOTS;
    if (!move_stack(t, slots, 1)) {
        t->depth = 0;
        release_tokens(t, 0); /* no room for the open calls: gone */
    }
    if (keep_events && old_ev.data != NULL)
        store_private_events(t, &old_ev, old_count);
    else
        block_release(&old_ev);
}

/* In a fork child whose writer is installed: the other threads are gone; the surviving thread's
 * open calls restart at fork_ns and move to the new file with what it recorded since. */
static PyObject *
after_fork(PyObject *module, PyObject *args)
{
    long long fork_ns;
    if (!PyArg_ParseTuple(args, "L", &fork_ns))
        return NULL;
    PyObject *kept = PyList_New(0);
    if (kept == NULL)
        return NULL;
    Thread *t = take_current();
    S.admitted = S.dropped = S.deepest = 0;
    if (t != NULL) {
        S.deepest = t->depth;
        if (PyList_Append(kept, (PyObject *)t) < 0) {
            current = t;
            Py_DECREF(kept);
            return NULL;
        }
        for (Py_ssize_t i = 0; i < t->depth; i++)
            t->stack[i].start = fork_ns;
#if PY_VERSION_HEX >= 0x03080000
        t->tid = (int64_t)PyThread_get_thread_native_id();
#endif
        S.values_gen++; /* the V and O blocks are the parent's file's */
        to_new_file(t, 1);
        current = t;
    }
    Py_SETREF(S.threads, kept); /* the other threads do not exist in this process */
    Py_RETURN_NONE;
}

/* The same process records on into a new file (an exec failed): every thread's open calls move
 * there as they are. */
static PyObject *
resume(PyObject *module, PyObject *unused)
{
    Thread *me = take_current();
    S.values_gen++; /* the V and O blocks are the old file's */
    PyObject *threads = PyList_GetSlice(S.threads, 0, PY_SSIZE_T_MAX);
    for (Py_ssize_t i = 0; threads != NULL && i < PyList_GET_SIZE(threads); i++)
        to_new_file((Thread *)PyList_GET_ITEM(threads, i), 0);
    Py_XDECREF(threads);
    if (me != NULL)
        current = me;
    if (threads == NULL)
        return NULL;
    Py_RETURN_NONE;
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
    {"counts", counts, METH_NOARGS, "(calls dropped past the cap, the deepest recorded stack)."},
    {"map_segment", map_segment, METH_VARARGS,
     "map_segment(fd, offset, size) -> memoryview: a MAP_SHARED mapping, never unmapped."},
    {"before_fork", before_fork, METH_NOARGS,
     "The calling thread records into private memory until after_fork(_in_parent)."},
    {"after_fork_in_parent", after_fork_in_parent, METH_NOARGS, "Back to the file's blocks."},
    {"resume", resume, METH_NOARGS, "Every thread's open calls move to the new file."},
    {"redeliver_signal", redeliver_signal, METH_VARARGS,
     "redeliver_signal(signum) -> bool: re-sends signum to the main thread until signal_seen()."},
    {"signal_seen", signal_seen, METH_VARARGS,
     "signal_seen(signum): the shim's Python handler for signum runs."},
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(registry, last_event_slots, check_interval_ns, max_depth, cap, min_ns, ignore_c, "
     "debug, values=None)"},
    {"stop", stop, METH_NOARGS, "Stops recording (no I/O); the values tokens are released."},
    {"admit", admit_event, METH_NOARGS,
     "admit() -> bool: one more event under the cap (counted as admitted), else False (dropped)."},
    {"after_fork", after_fork, METH_VARARGS,
     "after_fork(fork_ns): in a fork child with its writer installed, drops the other threads; "
     "the calling thread's open calls restart at fork_ns and move to the new file."},
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
    S.params_index = S.extra_index < 0 ? -1 : REQUEST_EXTRA_INDEX(free_parameters);
    if (S.extra_index < 0 || S.params_index < 0) {
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
