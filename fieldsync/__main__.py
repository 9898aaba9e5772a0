from fieldsync.cli import main

raise SystemExit(main())
