import sys

from eie_sim.cli import main

sys.exit(main())
