import sys

from neurobox.cli import main

sys.exit(main())
