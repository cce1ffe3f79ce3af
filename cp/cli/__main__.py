import sys

from cp.cli import main

sys.exit(main())
