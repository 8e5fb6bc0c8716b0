package postgres

import "dimos"

// InboxStatements returns the SQL and arguments of an inbox page and of its counts, so
// that the plans benchmark can EXPLAIN exactly what InboxPage and InboxCounts run.
func (db *DB) InboxStatements(q dimos.InboxQuery) (page string, pageArgs []any, counts string, countArgs []any, err error) {
	st, err := db.inboxPageStatement(q)
	if err != nil {
		return "", nil, "", nil, err
	}
	counts, countArgs, _, err = db.inboxCountsStatement(q)
	return st.sql, st.args, counts, countArgs, err
}
