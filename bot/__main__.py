"""`python -m bot`: the command line (see bot/cli.py)."""

import logging
import os
import sys

from bot.cli import main

code = main()
# Tearing down torch and friends at interpreter exit takes about a second and does nothing useful
# once the output is flushed and the logs closed (benchmarks/cold_start.py).
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
