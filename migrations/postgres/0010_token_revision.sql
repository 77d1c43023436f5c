-- A second revision number for tokens: a user revoking a token or changing its limits empties every
-- instance's token cache without making every instance reload the whole routing catalog.
INSERT INTO revisions (name, value) VALUES ('tokens', 0);
