"""tracer's Python shim: records every call in every thread of this process (see bootstrap.start).

The package name starts with an underscore so it cannot shadow a user's module, and nothing here is
imported unless TRACER_CONFIG is set.
"""
