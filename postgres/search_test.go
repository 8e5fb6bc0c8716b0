package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"dimos"
	"dimos/postgres"
	"dimos/postgres/pgtest"
)

func TestSearchCases(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	var svcA, svcB int64
	if err := db.Pool.QueryRow(ctx, `SELECT min(id), max(id) FROM services`).Scan(&svcA, &svcB); err != nil || svcA == svcB {
		t.Fatalf("need two services: %d %d %v", svcA, svcB, err)
	}
	file := func(subject, text string, svc int64) *dimos.Case {
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
	db := pgtest.New(t, true)
	db.SearchCandidates = 2 // the first window is 16 ids, the next 64
	var svcA, svcB int64
	if err := db.Pool.QueryRow(ctx, `SELECT min(id), max(id) FROM services`).Scan(&svcA, &svcB); err != nil || svcA == svcB {
		t.Fatalf("need two services: %d %d %v", svcA, svcB, err)
	}
	file := func(subject, text string, svc int64) *dimos.Case {
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
