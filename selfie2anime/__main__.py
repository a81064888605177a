"""`python -m selfie2anime`, the same as the `selfie2anime` command."""

import sys

from selfie2anime.cli import main

sys.exit(main())
