"""The command line as a user runs it: in a subprocess, or in a pseudo-terminal."""
