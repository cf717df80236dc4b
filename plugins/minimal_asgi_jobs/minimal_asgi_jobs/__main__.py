"""``python -m minimal_asgi_jobs``: see _cli.py."""

from ._cli import main

raise SystemExit(main())
