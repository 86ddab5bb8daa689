"""Workflows over real loopback sockets, against the sandbox server."""
