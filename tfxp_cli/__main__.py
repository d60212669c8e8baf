"""``python -m tfxp_cli`` is ``tfxp``."""
import sys

from tfxp_cli.main import main

sys.exit(main())
