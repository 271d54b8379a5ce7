import os
import sys

from bakeoff.worker.main import main

code = main(sys.argv[1])
# The trial ended when its result file was written. Skip the interpreter's teardown of the
# tool's modules, threads and atexit hooks (up to a second a trial for some tools): it is not
# the tool's measured work, yet the host would wait for it. Whatever the tool left running, the
# host ends by the trial's marker, as it always does.
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
