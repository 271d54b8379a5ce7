import sys

from bakeoff.worker.main import main

sys.exit(main(sys.argv[1]))
