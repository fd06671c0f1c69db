"""C functions' display names: `module.name` or `Type.method`, as every core records them."""

import os

_BuiltinType = type(len)  # builtin_function_or_method: len, time.sleep, [].append bound
_MethodDescriptorType = type(list.append)
# What a class defines a C method as: a method descriptor, or a classmethod's (dict.fromkeys).
_C_METHOD_TYPES = (_MethodDescriptorType, type(dict.__dict__["fromkeys"]))
_ModuleType = type(os)


class CFunctionNames:
    """Names C functions as `module.name` or `Type.method` without keeping user objects alive."""

    def __init__(self):
        self._by_callable = {}  # module functions and method descriptors
        self._by_method = {}  # (class, name) -> name, for builtins bound to a class or instance

    def name(self, func):
        """The display name of a C function; hashes nothing that could run user code."""
        cls = func.__class__
        if cls is _BuiltinType or cls is _MethodDescriptorType:
            name = self._by_callable.get(func)  # pointer hashes: no user code runs
            if name is not None:
                return name
        return self._slow_name(func, cls)

    def _slow_name(self, func, cls):
        """Names a builtin function or method (`cls` is a subclass of its type for one bound
        through a C class) or a method descriptor: the C functions every core records."""
        if cls is _MethodDescriptorType:
            name = self._by_callable[func] = _type_name(func.__objclass__) + "." + func.__name__
            return name
        owner = func.__self__
        if owner is None or owner.__class__ is _ModuleType:
            name = "%s.%s" % (func.__module__ or "builtins", func.__qualname__)
            self._by_callable[func] = name
            return name
        # Bound to a class (a classmethod) or to an instance, whose class is the key: keying by
        # func would keep the instance alive. Named by the class that defines it, as 3.12+ name
        # `[].append(1)`, a method descriptor of list's, whatever list subclass it is called on.
        owner_class = owner if isinstance(owner, type) else owner.__class__
        key = (owner_class, func.__name__)
        name = self._by_method.get(key)
        if name is None:
            defining = _defining_class(owner_class, func.__name__)
            name = self._by_method[key] = _type_name(defining) + "." + func.__name__
        return name


_type_mro = type.__dict__["__mro__"].__get__  # as the type keeps them: no metaclass code runs
_type_dict = type.__dict__["__dict__"].__get__


def _defining_class(cls, name):
    """The first class in cls's MRO that defines a C method `name` (cls when none does)."""
    for klass in _type_mro(cls):
        if _type_dict(klass).get(name).__class__ in _C_METHOD_TYPES:
            return klass
    return cls


def _type_name(cls):
    module = cls.__module__
    qualname = cls.__qualname__
    if module == "builtins" or not isinstance(module, str):
        return qualname
    return module + "." + qualname
