"""drillkit's test suite. Imported before conftest and every test module, hence this:

Bytecode caching on, for this process and the hundreds it starts (CLIs, check servers,
zygotes, checker children). Under PYTHONDONTWRITEBYTECODE, which some CI images set, each of
them would compile drillkit's modules and the packs' checks from source again: in a fresh
clone nothing is compiled yet.
"""

import os
import sys

os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False
