"""`python -m eventkb ...` runs the command line."""
import sys

from eventkb.cli import main

sys.exit(main())
