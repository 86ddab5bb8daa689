from ._cli.main import entry

entry()
