from acdcore.cli import main

raise SystemExit(main())
