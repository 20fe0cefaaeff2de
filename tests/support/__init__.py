"""The helpers the tests share: `from support import scripts`, `from support.faults import ...`."""
