package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"dimos"
	"dimos/postgres"
	"dimos/postgres/pgtest"
)

// fileAt stores a case of category with subject and text, at a point (nil for none),
// routed to service svc and in stage.
func fileAt(t *testing.T, db *postgres.DB, category, subject, text string, at *dimos.Point, svc int64, stage dimos.Stage) *dimos.Case {
	t.Helper()
	ctx := context.Background()
	c := newCase(category)
	c.Subject, c.Text, c.Location = subject, text, at
	if err := db.SubmitCase(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE cases SET service_id = nullif($2::bigint, 0), stage = $3, status = $4 WHERE id = $1`,
		c.ID, svc, stage, stage.Status()); err != nil {
		t.Fatal(err)
	}
	c.Stage, c.ServiceID = stage, svc
	return c
}

func dupNumbers(ds []dimos.Duplicate) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Number)
	}
	return out
}

// Heraklion, Lions' Square, and points measured from it: 0.001° of latitude is
// 111 m; 0.001° of longitude at 35.34° N is 91 m.
var lions = dimos.Point{Lat: 35.3394, Lon: 25.1332}

func offset(dLat, dLon float64) *dimos.Point {
	return &dimos.Point{Lat: lions.Lat + dLat, Lon: lions.Lon + dLon}
}

func TestPossibleDuplicates(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	p := lions
	me := fileAt(t, db, "potholes", "Λακκούβα στην πλατεία Λιονταριών", "Βαθιά λακκούβα δίπλα στο σιντριβάνι.", &p, 0, dimos.StageRouted)
	near := fileAt(t, db, "potholes", "Ζημιά στο οδόστρωμα", "Σπασμένη άσφαλτος.", offset(0.001, 0), 0, dimos.StageAssigned)   // 111 m
	nearer := fileAt(t, db, "potholes", "Πρόβλημα στον δρόμο", "Τρύπα στην άσφαλτο.", offset(0, 0.0005), 0, dimos.StageRouted) // 45 m
	far := fileAt(t, db, "potholes", "Κακοτεχνία", "Φθαρμένη άσφαλτος.", offset(0.01, 0), 0, dimos.StageRouted)                // 1.1 km
	similar := fileAt(t, db, "potholes", "Λακκούβα στην πλατεία Λιονταριών!", "Πολύ επικίνδυνη.", nil, 0, dimos.StageInProgress)
	otherCategory := fileAt(t, db, "street-lighting", "Λακκούβα στην πλατεία Λιονταριών", "Και σβηστή λάμπα.", offset(0.0001, 0), 0, dimos.StageRouted)
	closed := fileAt(t, db, "potholes", "Λακκούβα στην πλατεία Λιονταριών", "Επισκευάστηκε.", offset(0.0001, 0), 0, dimos.StageCompleted)
	unrelated := fileAt(t, db, "potholes", "Θόρυβος από εργασίες", "Από τις έξι το πρωί.", nil, 0, dimos.StageRouted)

	got, err := db.PossibleDuplicates(ctx, dimos.DuplicateQuery{Case: me, RadiusM: 150, MinSimilarity: 0.3, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	numbers := dupNumbers(got)
	t.Run("NearAndSimilarFound", func(t *testing.T) {
		for _, c := range []*dimos.Case{near, nearer, similar} {
			if !slices.Contains(numbers, c.Number) {
				t.Errorf("%s (%s) missing from %v", c.Number, c.Subject, numbers)
			}
		}
	})
	t.Run("FarOtherCategoryClosedUnrelatedAndSelfExcluded", func(t *testing.T) {
		for _, c := range []*dimos.Case{far, otherCategory, closed, unrelated, me} {
			if slices.Contains(numbers, c.Number) {
				t.Errorf("%s (%s, %s) listed: %v", c.Number, c.CategoryCode, c.Stage, numbers)
			}
		}
	})
	t.Run("DistanceAndRanking", func(t *testing.T) {
		byNumber := map[string]dimos.Duplicate{}
		for _, d := range got {
			byNumber[d.Number] = d
		}
		if d := byNumber[near.Number].DistanceM; d < 105 || d > 118 {
			t.Errorf("near: %.1f m, want about 111", d)
		}
		if d := byNumber[nearer.Number].DistanceM; d < 40 || d > 50 {
			t.Errorf("nearer: %.1f m, want about 45", d)
		}
		if d := byNumber[similar.Number]; d.DistanceM >= 0 || d.Similarity < 0.8 {
			t.Errorf("similar: distance %.1f (want none), similarity %.2f", d.DistanceM, d.Similarity)
		}
		// The near-identical subject first, then the nearer point before the near one.
		if want := []string{similar.Number, nearer.Number, near.Number}; !slices.Equal(numbers, want) {
			t.Errorf("order %v, want %v", numbers, want)
		}
	})
	t.Run("RadiusIsConfigurable", func(t *testing.T) {
		got, err := db.PossibleDuplicates(ctx, dimos.DuplicateQuery{Case: me, RadiusM: 2000, MinSimilarity: 0.3, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(dupNumbers(got), far.Number) {
			t.Errorf("2 km radius misses the case 1.1 km away: %v", dupNumbers(got))
		}
		got, err = db.PossibleDuplicates(ctx, dimos.DuplicateQuery{Case: me, RadiusM: 150, MinSimilarity: 0.3, Limit: 1})
		if err != nil || len(got) != 1 {
			t.Errorf("limit 1: %v %v", dupNumbers(got), err)
		}
	})
	t.Run("MergedExcluded", func(t *testing.T) {
		if err := db.MergeCase(ctx, dimos.Merge{DuplicateID: near.ID, OriginalNumber: me.Number, CategoryCode: "potholes", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		got, err := db.PossibleDuplicates(ctx, dimos.DuplicateQuery{Case: me, RadiusM: 150, MinSimilarity: 0.3, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(dupNumbers(got), near.Number) {
			t.Errorf("merged case still offered: %v", dupNumbers(got))
		}
	})
}

func TestMergeCaseAndFollowers(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	original := fileAt(t, db, "potholes", "Λακκούβα", "x", nil, 0, dimos.StageAssigned)
	first := fileAt(t, db, "potholes", "Λακκούβα ξανά", "y", nil, 0, dimos.StageRouted)
	second := fileAt(t, db, "potholes", "Και πάλι λακκούβα", "z", nil, 0, dimos.StageRouted)
	lamp := fileAt(t, db, "street-lighting", "Λάμπα", "w", nil, 0, dimos.StageRouted)
	done := fileAt(t, db, "potholes", "Παλιά λακκούβα", "v", nil, 0, dimos.StageCompleted)
	if _, err := db.Pool.Exec(ctx, `UPDATE cases SET contact_first_name = 'Γιάννης', contact_email = 'giannis@example.gr', lang = 'en' WHERE id = $1`, second.ID); err != nil {
		t.Fatal(err)
	}
	merge := func(dup *dimos.Case, into, reason string) error {
		return db.MergeCase(ctx, dimos.Merge{DuplicateID: dup.ID, OriginalNumber: into, CategoryCode: dup.CategoryCode, ActorID: 0, Reason: reason, At: at})
	}

	// second merges into first, then first into original: both follow original.
	if err := merge(second, first.Number, ""); err != nil {
		t.Fatal(err)
	}
	if err := merge(first, original.Number, "ίδιο σημείο"); err != nil {
		t.Fatal(err)
	}
	if err := merge(first, original.Number, "ίδιο σημείο"); err != nil {
		t.Fatalf("repeating a merge: %v", err)
	}
	followers, err := db.CaseFollowers(ctx, original.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range followers {
		got = append(got, f.CaseNumber+" "+f.Contact.Email+" "+f.Lang)
	}
	want := []string{first.Number + " eleni@example.gr el", second.Number + " giannis@example.gr en"}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("followers %v, want %v", got, want)
	}
	events, err := db.CaseEvents(ctx, original.ID)
	if err != nil {
		t.Fatal(err)
	}
	var merged []string
	for _, e := range events {
		if e.Type == "merged_in" {
			merged = append(merged, e.Body)
		}
	}
	if !slices.Equal(merged, []string{first.Number + " · ίδιο σημείο"}) {
		t.Errorf("original's timeline tells %v", merged)
	}

	third := fileAt(t, db, "potholes", "Τρίτη αναφορά", "u", nil, 0, dimos.StageRouted)
	for _, tc := range []struct {
		name   string
		dup    *dimos.Case
		into   string
		reason string
		code   string
		key    string
	}{
		{"ErrSelf", third, third.Number, "", dimos.EINVALID, "error.merge.self"},
		{"ErrUnknownOriginal", third, "2026-999999", "", dimos.EINVALID, "error.merge.original_unknown"},
		{"ErrOriginalClosed", third, done.Number, "", dimos.ECONFLICT, "error.merge.original_closed"},
		{"ErrOriginalMerged", third, first.Number, "", dimos.ECONFLICT, "error.merge.original_merged"},
		{"ErrAlreadyMerged", first, third.Number, "", dimos.ECONFLICT, "error.merge.already"},
		{"ErrCycle", original, first.Number, "", dimos.ECONFLICT, "error.merge.original_merged"},
		{"ErrOtherCategoryWithoutReason", third, lamp.Number, "", dimos.EINVALID, "error.merge.category_reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := merge(tc.dup, tc.into, tc.reason)
			if dimos.ErrorCode(err) != tc.code || dimos.ErrorKey(err) != tc.key {
				t.Errorf("got %v, want %s %s", err, tc.code, tc.key)
			}
		})
	}
	if err := merge(third, lamp.Number, "ο λάκκος έσβησε τη λάμπα"); err != nil {
		t.Errorf("other category with a reason: %v", err)
	}
}

func TestOpenCasesOnMap(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, true)
	var svcA, svcB int64
	if err := db.Pool.QueryRow(ctx, `SELECT min(id), max(id) FROM services`).Scan(&svcA, &svcB); err != nil {
		t.Fatal(err)
	}
	mine := fileAt(t, db, "potholes", "Α", "x", offset(0.001, 0), svcA, dimos.StageRouted)
	lamp := fileAt(t, db, "street-lighting", "Β", "x", offset(0.002, 0), svcA, dimos.StageInProgress)
	other := fileAt(t, db, "potholes", "Γ", "x", offset(0.003, 0), svcB, dimos.StageRouted)
	fileAt(t, db, "potholes", "Δ", "x", nil, svcA, dimos.StageRouted)                 // no point
	fileAt(t, db, "potholes", "Ε", "x", offset(0.004, 0), svcA, dimos.StageCompleted) // closed
	assignedToMe := fileAt(t, db, "potholes", "Ζ", "x", offset(0.005, 0), svcB, dimos.StageAssigned)
	var clerk int64
	if err := db.Pool.QueryRow(ctx, `SELECT min(id) FROM employees WHERE service_id = $1`, svcA).Scan(&clerk); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE cases SET assignee_id = $2 WHERE id = $1`, assignedToMe.ID, clerk); err != nil {
		t.Fatal(err)
	}
	on := func(f dimos.MapFilter) []string {
		t.Helper()
		f.Limit = 100
		got, err := db.OpenCasesOnMap(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range got {
			out = append(out, m.Number)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(cs ...*dimos.Case) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Number)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		name string
		f    dimos.MapFilter
		want []string
	}{
		{"All", dimos.MapFilter{Scope: dimos.SearchScope{All: true}}, sorted(mine, lamp, other, assignedToMe)},
		{"OwnServiceAndAssigned", dimos.MapFilter{Scope: dimos.SearchScope{ServiceID: svcA, EmployeeID: clerk}}, sorted(mine, lamp, assignedToMe)},
		{"Category", dimos.MapFilter{Scope: dimos.SearchScope{All: true}, CategoryCode: "street-lighting"}, sorted(lamp)},
		{"Service", dimos.MapFilter{Scope: dimos.SearchScope{All: true}, ServiceID: svcB}, sorted(other, assignedToMe)},
		{"Stage", dimos.MapFilter{Scope: dimos.SearchScope{All: true}, Stage: dimos.StageInProgress}, sorted(lamp)},
		{"NoScopeNothing", dimos.MapFilter{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := on(tc.f); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
