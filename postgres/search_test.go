package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"dimos"
	"dimos/postgres"
	"dimos/postgres/pgtest"
)

// searchDB is a demo database with two services, and file, which files a pothole
// complaint and gives it to a service.
func searchDB(t *testing.T) (db *postgres.DB, svcA, svcB int64, file func(subject, text string, svc int64) *dimos.Case) {
	t.Helper()
	ctx := context.Background()
	db = pgtest.New(t, true)
	if err := db.Pool.QueryRow(ctx, `SELECT min(id), max(id) FROM services`).Scan(&svcA, &svcB); err != nil || svcA == svcB {
		t.Fatalf("need two services: %d %d %v", svcA, svcB, err)
	}
	file = func(subject, text string, svc int64) *dimos.Case {
		t.Helper()
		c := newCase("potholes")
		c.Subject, c.Text = subject, text
		if err := db.SubmitCase(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `UPDATE cases SET service_id = $2 WHERE id = $1`, c.ID, svc); err != nil {
			t.Fatal(err)
		}
		return c
	}
	return db, svcA, svcB, file
}

func TestSearchCases(t *testing.T) {
	ctx := context.Background()
	db, svcA, svcB, file := searchDB(t)
	lower := file("Ζημιά στον δρόμο", "Υπάρχουν λακκουβες παντού στη Γούρνες.", svcA)
	upper := file("ΛΑΚΚΟΥΒΕΣ ΣΤΗΝ ΠΛΑΤΕΙΑ", "Επικίνδυνο για τα μηχανάκια.", svcA)
	bySubject := file("Σπασμένο πεζοδρόμιο", "Δίπλα στο σχολείο.", svcA)
	byBody := file("Πρόβλημα στη γειτονιά", "Το πεζοδρόμιο έχει σπάσει μπροστά στο φούρνο.", svcA)
	commented := file("Θόρυβος τη νύχτα", "Ενοχλήσεις από το μαγαζί.", svcA)
	other := file("Λακκούβα μπροστά στο δημαρχείο", "Βαθιά λακκούβα.", svcB)
	err := db.ApplyChange(ctx, dimos.CaseChange{CaseID: commented.ID, Key: "comment-1",
		Event: dimos.CaseEvent{Type: "comment", Body: "Ο ιδιοκτήτης υποσχέθηκε ηχομόνωση."}})
	if err != nil {
		t.Fatal(err)
	}
	scopeA := dimos.SearchScope{ServiceID: svcA}
	search := func(t *testing.T, q string, scope dimos.SearchScope) []dimos.SearchHit {
		t.Helper()
		hits, err := db.SearchCases(ctx, q, scope, 50)
		if err != nil {
			t.Fatal(err)
		}
		return hits
	}
	numbers := func(hits []dimos.SearchHit) []string {
		var out []string
		for _, h := range hits {
			out = append(out, h.Number)
		}
		return out
	}
	index := func(hits []dimos.SearchHit, number string) int {
		for i, h := range hits {
			if h.Number == number {
				return i
			}
		}
		return -1
	}

	t.Run("FoldsAccentsCaseAndInflection", func(t *testing.T) {
		hits := search(t, "Λακκούβα", scopeA)
		for _, c := range []*dimos.Case{lower, upper} {
			if index(hits, c.Number) < 0 {
				t.Errorf("Λακκούβα did not find %s (%q): %v", c.Number, c.Subject+" "+c.Text, numbers(hits))
			}
		}
	})
	t.Run("SubjectOutranksBody", func(t *testing.T) {
		hits := search(t, "πεζοδρομιο", scopeA)
		s, b := index(hits, bySubject.Number), index(hits, byBody.Number)
		if s < 0 || b < 0 || s > b {
			t.Fatalf("subject match at %d, body match at %d: %v", s, b, numbers(hits))
		}
		if hits[s].Rank <= hits[b].Rank {
			t.Errorf("rank of subject match %v not above body match %v", hits[s].Rank, hits[b].Rank)
		}
	})
	t.Run("FindsCommentWords", func(t *testing.T) {
		hits := search(t, "ηχομόνωση", scopeA)
		if i := index(hits, commented.Number); i < 0 {
			t.Fatalf("comment word did not find %s: %v", commented.Number, numbers(hits))
		} else if !strings.Contains(hits[i].Headline, dimos.HighlightStart+"ηχομόνωση"+dimos.HighlightStop) {
			t.Errorf("headline %q does not mark the comment's word", hits[i].Headline)
		}
	})
	t.Run("FindsNumber", func(t *testing.T) {
		for _, q := range []string{commented.Number, strings.ReplaceAll(commented.Number, "-", "")} {
			hits := search(t, q, scopeA)
			if len(hits) == 0 || hits[0].Number != commented.Number {
				t.Errorf("%s found %v, want %s first", q, numbers(hits), commented.Number)
			}
		}
	})
	t.Run("ScopeExcludesOtherService", func(t *testing.T) {
		if i := index(search(t, "λακκούβα", scopeA), other.Number); i >= 0 {
			t.Errorf("service %d's search returned %s of service %d", svcA, other.Number, svcB)
		}
		if i := index(search(t, other.Number, scopeA), other.Number); i >= 0 {
			t.Errorf("service %d found %s of service %d by number", svcA, other.Number, svcB)
		}
		all := search(t, "λακκούβα", dimos.SearchScope{All: true})
		if index(all, other.Number) < 0 || index(all, lower.Number) < 0 {
			t.Errorf("search across services missed a case: %v", numbers(all))
		}
		if hits := search(t, "λακκούβα", dimos.SearchScope{}); len(hits) != 0 {
			t.Errorf("empty scope found %v", numbers(hits))
		}
	})
	t.Run("AssigneeSeesCasesOfOtherServices", func(t *testing.T) {
		var clerk int64
		if err := db.Pool.QueryRow(ctx, `SELECT min(id) FROM employees`).Scan(&clerk); err != nil {
			t.Fatal(err)
		}
		assign := func(t *testing.T, to any) {
			t.Helper()
			if _, err := db.Pool.Exec(ctx, `UPDATE cases SET assignee_id = $2 WHERE id = $1`, other.ID, to); err != nil {
				t.Fatal(err)
			}
		}
		assign(t, clerk)
		defer assign(t, nil)
		both := search(t, "λακκούβα", dimos.SearchScope{ServiceID: svcA, EmployeeID: clerk})
		if index(both, other.Number) < 0 || index(both, lower.Number) < 0 {
			t.Errorf("service %d or assignee %d: got %v, want %s (assigned, service %d) and %s (service %d)",
				svcA, clerk, numbers(both), other.Number, svcB, lower.Number, svcA)
		}
		if got := numbers(search(t, "λακκούβα", dimos.SearchScope{EmployeeID: clerk})); !slices.Equal(got, []string{other.Number}) {
			t.Errorf("assignee %d alone: got %v, want only %s", clerk, got, other.Number)
		}
		if got := numbers(search(t, "λακκούβα -βαθιά", dimos.SearchScope{EmployeeID: clerk})); len(got) != 0 {
			t.Errorf("assignee %d, -βαθιά: got %v, want none", clerk, got)
		}
		assign(t, nil) // the scope follows the case's assignment
		if got := numbers(search(t, "λακκούβα", dimos.SearchScope{EmployeeID: clerk})); len(got) != 0 {
			t.Errorf("assignee %d after unassigning: got %v, want none", clerk, got)
		}
	})
	t.Run("StopWordsFindNothingInScope", func(t *testing.T) {
		if hits := search(t, "και το", scopeA); len(hits) != 0 {
			t.Errorf("stop words only found %v", numbers(hits))
		}
	})
	t.Run("HeadlineMarksMatch", func(t *testing.T) {
		hits := search(t, "Λακκούβα", scopeA)
		i := index(hits, upper.Number)
		if i < 0 || !strings.Contains(hits[i].Headline, "<mark>ΛΑΚΚΟΥΒΕΣ</mark>") {
			t.Fatalf("headline of %s: %+v", upper.Number, hits)
		}
		if h := hits[i]; h.Subject != upper.Subject || h.Status != upper.Status || h.CategoryCode != "potholes" || h.SubmittedAt.IsZero() {
			t.Errorf("hit fields: %+v", h)
		}
	})
}

var _ dimos.CaseSearcher = (*postgres.DB)(nil)

// TestSearchCandidates: a search ranks only the newest matching cases in scope
// (DB.SearchCandidates of them), gathered through ever older, wider windows of ids.
func TestSearchCandidates(t *testing.T) {
	ctx := context.Background()
	db, svcA, svcB, file := searchDB(t)
	db.SearchCandidates = 2 // the first window is 16 ids, the next 64
	// The oldest case matches best (the word in its subject) and alone holds a rare word.
	oldest := file("Λακκούβα στην Εγνατία", "Ένα γερανοφόρο όχημα την άνοιξε.", svcA)
	for i := range 40 {
		file(fmt.Sprintf("Άλλο θέμα %d", i), "Τίποτα σχετικό εδώ.", svcA)
	}
	older := file("Πρόβλημα στον δρόμο", "Μια λακκούβα στη γωνία.", svcA)
	newer := file("Πρόβλημα στην πλατεία", "Μια λακκούβα στο κέντρο.", svcA)
	elsewhere := file("Λακκούβα αλλού", "Λακκούβα σε άλλη υπηρεσία.", svcB)
	search := func(t *testing.T, q string, scope dimos.SearchScope) []string {
		t.Helper()
		hits, err := db.SearchCases(ctx, q, scope, 50)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, h := range hits {
			out = append(out, h.Number)
		}
		return out
	}
	scopeA := dimos.SearchScope{ServiceID: svcA}

	t.Run("RanksOnlyTheNewestMatches", func(t *testing.T) {
		got := search(t, "λακκούβα", scopeA)
		if want := []string{newer.Number, older.Number}; !slices.Equal(got, want) {
			t.Errorf("two candidates: got %v, want the two newest %v (not the better %s)", got, want, oldest.Number)
		}
	})
	t.Run("RanksAmongTheCandidates", func(t *testing.T) {
		db.SearchCandidates = 3
		defer func() { db.SearchCandidates = 2 }()
		got := search(t, "λακκούβα", scopeA)
		if want := []string{oldest.Number, newer.Number, older.Number}; !slices.Equal(got, want) {
			t.Errorf("three candidates: got %v, want the subject match first, then newest first %v", got, want)
		}
	})
	t.Run("OtherScopesTakeNoCandidates", func(t *testing.T) {
		if got := search(t, "λακκούβα", dimos.SearchScope{All: true}); !slices.Equal(got, []string{elsewhere.Number, newer.Number}) {
			t.Errorf("across services: got %v, want %s then %s", got, elsewhere.Number, newer.Number)
		}
	})
	t.Run("OlderWindowsFindARareWord", func(t *testing.T) {
		if got := search(t, "γερανοφόρο", scopeA); !slices.Equal(got, []string{oldest.Number}) {
			t.Errorf("rare word 43 cases back: got %v, want %s", got, oldest.Number)
		}
	})
	t.Run("NumberBeyondTheCandidates", func(t *testing.T) {
		if got := search(t, oldest.Number, scopeA); len(got) == 0 || got[0] != oldest.Number {
			t.Errorf("number of an old case: got %v, want %s first", got, oldest.Number)
		}
	})
}

// TestSearchIndexQuery: the query asked of cases_search_keys_idx for each scope, and
// a phrase asked as its words AND'ed (the index's added lexemes have no positions).
func TestSearchIndexQuery(t *testing.T) {
	all, svc := dimos.SearchScope{All: true}, dimos.SearchScope{ServiceID: 3}
	both := dimos.SearchScope{ServiceID: 3, EmployeeID: 7}
	for _, c := range []struct {
		tsq, tree string
		scope     dimos.SearchScope
		index     string
		phrase    bool
	}{
		{"'καδ' & !'ανακυκλωσ'", "'καδ'", all, "'καδ' & !'ανακυκλωσ'", false},
		{"'καδ' & !'ανακυκλωσ'", "'καδ'", svc, "('§s3§καδ' & !'§s3§ανακυκλωσ')", false},
		{"'καδ' & !'ανακυκλωσ'", "'καδ'", both,
			"('§s3§καδ' & !'§s3§ανακυκλωσ') | (('καδ' & !'ανακυκλωσ') & '§a7')", false},
		{"'a' | 'b'", "'a' | 'b'", dimos.SearchScope{EmployeeID: 7}, "(('a' | 'b') & '§a7')", false},
		// A negation alone matches every case without the word, in any service.
		{"!'καδ'", "T", svc, "((!'§s3§καδ') & '§s3')", false},
		// Quotes and backslashes stay escaped as PostgreSQL printed them.
		{`'o''b\\c' & 'd'`, `'o''b\\c' & 'd'`, svc, `('§s3§o''b\\c' & '§s3§d')`, false},
		// A phrase: its words AND'ed, its negated phrases left to the row.
		{"'φαναρ' <-> 'κουνδουρ' & !( 'x' <2> 'y' )", "'φαναρ' <-> 'κουνδουρ'", all, "'φαναρ' & 'κουνδουρ'", true},
		{"'φαναρ' <-> 'κουνδουρ'", "'φαναρ' <-> 'κουνδουρ'", svc, "('§s3§φαναρ' & '§s3§κουνδουρ')", true},
		{"!( 'x' <-> 'y' )", "T", all, "", true},
		{"!( 'x' <-> 'y' )", "T", svc, "('§s3')", true},
		// A '<' inside a lexeme is no phrase.
		{"'a<b'", "'a<b'", all, "'a<b'", false},
	} {
		index, phrase := postgres.SearchIndexQuery(c.tsq, c.tree, c.scope)
		if index != c.index || phrase != c.phrase {
			t.Errorf("%s (tree %s) in %+v: got %q, phrase %v; want %q, phrase %v", c.tsq, c.tree, c.scope, index, phrase, c.index, c.phrase)
		}
	}
}

// TestSearchWindows: whatever the number of candidates (so whatever windows of ids
// it walks) and the scope, the candidates are exactly the newest matching cases in
// scope, newest first, as the plain query of every case finds them; among them the
// words common in one service and rare in another, phrases, negations and stop words.
func TestSearchWindows(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	if _, err := db.SeedCases(ctx, postgres.BulkOptions{Cases: 3000, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	var tech, clean, clerk int64
	err := db.Pool.QueryRow(ctx, `SELECT (SELECT id FROM services WHERE code = 'tech'), (SELECT id FROM services WHERE code = 'clean'),
		(SELECT assignee_id FROM cases WHERE service_id = (SELECT id FROM services WHERE code = 'clean')
		 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)`).Scan(&tech, &clean, &clerk)
	if err != nil {
		t.Fatal(err)
	}
	// Make κάδος, common in cleaning, rare in the technical service (a few, spread
	// from the oldest case to the newest), so that its windows widen to the oldest.
	if _, err := db.Pool.Exec(ctx, `UPDATE cases SET service_id = $1 WHERE id IN
		(SELECT id FROM cases WHERE search @@ to_tsquery('greek', 'κάδος') AND id % 97 = 0)`, tech); err != nil {
		t.Fatal(err)
	}
	var rare int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM cases WHERE service_id = $1 AND search @@ to_tsquery('greek', 'κάδος')`, tech).Scan(&rare); err != nil || rare == 0 {
		t.Fatalf("κάδος in the technical service: %d %v", rare, err)
	}
	scopes := []dimos.SearchScope{{All: true}, {ServiceID: tech}, {ServiceID: clean}, {EmployeeID: clerk},
		{ServiceID: tech, EmployeeID: clerk}}
	queries := []string{"κάδος", "κάδος -ανακύκλωσης", "λακκούβα", "φανάρι Κουνδούρου", `"κάδος ανακύκλωσης"`,
		`κάδος -"κάδος ανακύκλωσης"`, `-"κάδος ανακύκλωσης"`, "-κάδος", "λακκούβα or κάδος", "και το", "γερανοφόρο", "pothole"}
	for _, want := range []int{1, 7, 60, 1000} {
		db.SearchCandidates = want
		for _, scope := range scopes {
			for _, q := range queries {
				got, err := db.SearchCandidateIDs(ctx, q, scope)
				if err != nil {
					t.Fatalf("%s in %+v: %v", q, scope, err)
				}
				rows, err := db.Pool.Query(ctx, `SELECT id FROM cases
					WHERE search @@ websearch_to_tsquery('greek', $1) AND ($2 OR service_id = $3 OR assignee_id = $4)
					ORDER BY id DESC LIMIT $5`, q, scope.All, scope.ServiceID, scope.EmployeeID, want)
				if err != nil {
					t.Fatal(err)
				}
				expect, err := pgx.CollectRows(rows, pgx.RowTo[int64])
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, expect) {
					t.Errorf("%d candidates of %s in %+v: got %d %v, want %d %v", want, q, scope, len(got), head(got), len(expect), head(expect))
				}
			}
		}
	}
	db.SearchCandidates = 0
	t.Run("RareInScopeFindsExactlyItsCases", func(t *testing.T) {
		hits, err := db.SearchCases(ctx, "κάδος", dimos.SearchScope{ServiceID: tech}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.Pool.Query(ctx, `SELECT number FROM cases WHERE service_id = $1 AND search @@ to_tsquery('greek', 'κάδος')`, tech)
		if err != nil {
			t.Fatal(err)
		}
		expect, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range hits {
			got = append(got, h.Number)
		}
		slices.Sort(got)
		slices.Sort(expect)
		if !slices.Equal(got, expect) {
			t.Errorf("κάδος in the technical service: got %v, want %v", got, expect)
		}
	})
}

func head(ids []int64) []int64 { return ids[:min(len(ids), 8)] }

// TestSearchRareInScope: a word in many cases of another service and in two of this
// one finds exactly those two, newest first, through windows that widen to the oldest.
func TestSearchRareInScope(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	db.SearchCandidates = 3
	var svcA, svcB int64
	if err := db.Pool.QueryRow(ctx, `SELECT min(id), max(id) FROM services`).Scan(&svcA, &svcB); err != nil || svcA == svcB {
		t.Fatalf("need two services: %d %d %v", svcA, svcB, err)
	}
	file := func(subject string, svc int64) *dimos.Case {
		t.Helper()
		c := newCase("potholes")
		c.Subject, c.Text = subject, "Στη γωνία της πλατείας."
		if err := db.SubmitCase(ctx, c); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `UPDATE cases SET service_id = $2 WHERE id = $1`, c.ID, svc); err != nil {
			t.Fatal(err)
		}
		return c
	}
	old := file("Γεμάτος κάδος", svcA)
	for range 30 {
		file("Γεμάτος κάδος", svcB)
	}
	recent := file("Γεμάτος κάδος", svcA)
	for range 30 {
		file("Γεμάτος κάδος", svcB)
	}
	hits, err := db.SearchCases(ctx, "κάδος", dimos.SearchScope{ServiceID: svcA}, 50)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hits {
		got = append(got, h.Number)
	}
	if want := []string{recent.Number, old.Number}; !slices.Equal(got, want) {
		t.Errorf("κάδος in service %d: got %v, want %v", svcA, got, want)
	}
	if hits, err := db.SearchCases(ctx, "κάδος", dimos.SearchScope{All: true}, 50); err != nil || len(hits) != 3 {
		t.Errorf("κάδος in every service, 3 candidates: %d hits, %v", len(hits), err)
	}
}
