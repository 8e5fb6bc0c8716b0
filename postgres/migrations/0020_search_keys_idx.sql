-- One text index for every search (postgres/search.go), in place of cases_search_idx
-- and cases_search_scope_idx. Both cost a search at 1M cases in proportion to how
-- many cases ever used its words, not to the 1,000 newest it ranks:
--
-- - A window of case ids was a bitmap of every match of the words in the whole
--   table, AND'ed with a bitmap of the primary key: each window read the word's
--   whole posting list (λακκούβα, 73,748 cases, 21 ms a window).
-- - A word common in other services and rare in the director's was the
--   intersection of two long lists (καδ 103,143 cases, §s1 265,873) for 372 kept.
--
-- case_search_keys adds to each case's vector lexemes that GIN can intersect
-- cheaply, because they make the list it steps through short:
--
-- - '§s<service>§<lexeme>' for every lexeme of the case: the word within the
--   service. A director's search asks for these, so a word rare in their service has
--   a short list whatever the other services hold (§s1§καδ: 982 cases).
-- - '§b<k>_<id >> k>' for k from 4 to 23: the case's block of 2^k consecutive ids.
--   A window of ids is one block, so its list is no longer than the window, and GIN
--   skips through the words' lists to the block's items.
-- - '§s<service>' and '§a<assignee>', as in migration 0017: an assignee's cases are
--   the words AND '§a<employee>'.
--
-- The parser never makes a lexeme with '§', so no word typed can match these.
-- The added lexemes carry no positions; a phrase search checks its phrase against
-- the case's own vector (see SearchCases).
CREATE FUNCTION case_search_keys(search tsvector, id bigint, service_id bigint, assignee_id bigint)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT search
        || array_to_tsvector(ARRAY(SELECT '§s' || service_id::text || '§' || l
                                   FROM unnest(tsvector_to_array(search)) l WHERE service_id IS NOT NULL))
        || array_to_tsvector(array_remove(ARRAY['§s' || service_id::text, '§a' || assignee_id::text], NULL)
            || ARRAY(SELECT '§b' || k::text || '_' || (id >> k)::text FROM generate_series(4, 23) k))
$$;

CREATE INDEX cases_search_keys_idx ON cases USING gin (case_search_keys(search, id, service_id, assignee_id));

DROP INDEX cases_search_scope_idx;
DROP INDEX cases_search_idx;
