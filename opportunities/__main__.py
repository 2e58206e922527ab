from opportunities.cli import main

raise SystemExit(main())
