import sys

from monitoring_cli.main import main

sys.exit(main())
