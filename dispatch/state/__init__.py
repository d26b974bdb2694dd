"""A feature's state on disk: where its files live, sessions.json (model and store), locks."""
