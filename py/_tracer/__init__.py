"""tracer's Python shim: records every call in every thread of this process (see bootstrap.start).

The package name starts with an underscore so it cannot shadow a user's module, and nothing here is
imported unless TRACER_CONFIG is set.

Its modules are compiled under file names that start with SHIM_FILE_PREFIX, like "<string>": tools
that look at code by file (coverage, profilers, debuggers) ignore such names, so the shim stays out
of their reports, and tracebacks through it name no file of a temp dir that is gone afterwards.
"""

import sys
from importlib.machinery import (
    EXTENSION_SUFFIXES,
    SOURCE_SUFFIXES,
    ExtensionFileLoader,
    FileFinder,
    SourceFileLoader,
)

SHIM_FILE_PREFIX = "<tracer>/"
_CodeType = type(compile("", "", "exec"))


class _ShimLoader(SourceFileLoader):
    """Loads a shim module as usual (bytecode cache included), under its `<tracer>/` file name."""

    def get_code(self, fullname):
        code = super().get_code(fullname)
        return _renamed(code, SHIM_FILE_PREFIX + fullname.replace(".", "/") + ".py")


def _renamed(code, filename):
    consts = tuple(_renamed(c, filename) if isinstance(c, _CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


# The import system asks this finder for the package's submodules (no sys.meta_path entry).
sys.path_importer_cache[__path__[0]] = FileFinder(
    __path__[0], (ExtensionFileLoader, EXTENSION_SUFFIXES), (_ShimLoader, SOURCE_SUFFIXES)
)
