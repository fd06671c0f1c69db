"""Name ids: the numbers events carry instead of their names (an `N` record gives each once)."""

from itertools import count

from .c_names import CFunctionNames


def python_code_name(code):
    """`qualname (path:line)` for a code object."""
    return "%s (%s:%d)" % (
        getattr(code, "co_qualname", code.co_name),
        code.co_filename,
        code.co_firstlineno,
    )


class NameTable:
    """Gives name ids (1, 2, ...) to code objects and C functions, once each.

    `on_new(name_id, name, cat)` is called for each new one (the writer stores it in the file
    before the id is returned, so no event can use an id whose name is not in the file). A fork
    child's writer takes the table over and names every id in it first: the ids the cores hold
    stay valid.
    """

    def __init__(self, code_filter):
        self._code_filter = code_filter
        # id(code) -> (code, name id or -1). Keyed by id(): hashing a code object hashes its
        # constants and every code object nested in them (25 us for a large module's), and equal
        # code objects of different files compare equal. The entry holds the code object, which
        # keeps its id unique for the process's life.
        self.by_code = {}
        self._by_c_name = {}  # C function name -> name id
        self.c_names = CFunctionNames()
        # name id -> (name, cat). An id is taken by one atomic step (a C call under the GIL) and
        # stored by another: reading a length and appending let a thread switch in between give
        # two names one id. No lock: a fork child, whose parent's threads are gone, names on.
        self.names = {}
        self._next_id = count(1).__next__
        self.on_new = None

    def code_id(self, code):
        """The name id of a code object, or -1 when the filters exclude it."""
        entry = self.by_code.get(id(code))
        if entry is not None and entry[0] is code:
            return entry[1]
        name_id = -1
        if self._code_filter(code):
            name_id = self._new(python_code_name(code), "py")
        self.by_code[id(code)] = (code, name_id)
        return name_id

    def c_function_id(self, func):
        """The name id of a C callable."""
        return self.c_name_id(self.c_names.name(func))

    def c_name_id(self, name):
        """The name id of a C function's display name."""
        name_id = self._by_c_name.get(name)
        if name_id is None:
            name_id = self._by_c_name[name] = self._new(name, "c")
        return name_id

    def _new(self, name, cat):
        name_id = self._next_id()
        self.names[name_id] = (name, cat)
        on_new = self.on_new
        if on_new is not None:
            on_new(name_id, name, cat)
        return name_id
