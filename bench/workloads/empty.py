"""Empty program: measures the fixed cost of tracing a process."""
