-- A director's or clerk's search (postgres/search.go searchScopedWindowSQL) wants the
-- matching cases of one service, or of one assignee. Through cases_search_idx alone
-- PostgreSQL reads the row of every case that matches the words in any service and
-- only then drops the others: for a word common elsewhere and rare in the service,
-- tens of thousands of rows for a few hundred kept. A B-tree on service_id does not
-- help much: a service holds a quarter of the cases, so its bitmap turns lossy.
--
-- This index holds each case's search vector with two more lexemes, its service
-- ('§s' and the id) and its assignee ('§a' and the id); the parser never makes a
-- lexeme with '§', so no word can match them. A scoped search asks it for the words
-- AND ('§s<service>' | '§a<employee>'), and GIN intersects the posting lists itself,
-- stepping through the long list of the service only at the items of the rare word:
-- it returns exactly the cases in scope, and only their rows are read.
CREATE INDEX cases_search_scope_idx ON cases USING gin (
    (search || array_to_tsvector(array_remove(ARRAY['§s' || service_id, '§a' || assignee_id], NULL))));
