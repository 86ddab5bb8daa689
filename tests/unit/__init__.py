"""Pure code: no I/O, no sockets, no subprocesses; the whole folder runs in seconds."""
