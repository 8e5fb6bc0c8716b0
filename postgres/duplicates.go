package postgres

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"dimos"
)

var (
	_ dimos.DuplicateFinder = (*DB)(nil)
	_ dimos.MergeStore      = (*DB)(nil)
	_ dimos.CaseMap         = (*DB)(nil)
)

// metresPerDegree is the length of a degree of latitude (and of longitude at the
// equator), near enough for a bounding box that only narrows the search.
const metresPerDegree = 111_320.0

// haversine is the great-circle distance in metres between the point ($lat, $lon)
// and the row's (c.lat, c.lon).
const haversine = `(2 * 6371000 * asin(least(1, sqrt(
	power(sin(radians(c.lat - $3::float8) / 2), 2) +
	cos(radians($3::float8)) * cos(radians(c.lat)) * power(sin(radians(c.lon - $4::float8) / 2), 2)))))`

// Bounds of the candidates PossibleDuplicates measures: the open cases of the
// category in the bounding box, and those whose subjects are nearest by trigrams.
// Within one category subjects look alike ("Λακκούβα στην οδό …"), so a similarity
// threshold alone would let tens of thousands through; the nearest ones, by the
// GiST index's ordering, are the ones worth measuring.
const (
	nearCandidates    = 200
	similarCandidates = 50
)

// PossibleDuplicates lists the open, unmerged cases of q.Case's category that lie
// within q.RadiusM of its point or whose subject and text read like its own, the
// likeliest first. Candidates come from two indexes: a bounding box around the point
// on the open cases' (lat, lon), and the trigram GiST index on the open cases'
// subjects, nearest first (<->); only they are measured exactly, by the haversine
// distance and by the similarity of subject and text.
func (db *DB) PossibleDuplicates(ctx context.Context, q dimos.DuplicateQuery) ([]dimos.Duplicate, error) {
	c := q.Case
	if c == nil || q.Limit <= 0 {
		return nil, nil
	}
	var lat, lon *float64
	var dLat, dLon float64
	if c.Location != nil && q.RadiusM > 0 {
		lat, lon = &c.Location.Lat, &c.Location.Lon
		dLat = q.RadiusM / metresPerDegree
		// Degrees of longitude shrink towards the poles; near them, take every longitude.
		if cos := math.Cos(c.Location.Lat * math.Pi / 180); cos > 0.01 {
			dLon = q.RadiusM / (metresPerDegree * cos)
		} else {
			dLon = 360
		}
	}
	text := c.Subject + " " + excerpt(c.Text, 300)
	rows, err := db.Pool.Query(ctx, `
		WITH candidates AS (
			(SELECT id FROM cases
			WHERE $3::float8 IS NOT NULL
			  AND lat BETWEEN $3::float8 - $6::float8 AND $3::float8 + $6::float8
			  AND lon BETWEEN $4::float8 - $7::float8 AND $4::float8 + $7::float8
			  AND stage NOT IN ('completed', 'rejected') AND category_code = $2
			LIMIT $12)
			UNION
			(SELECT id FROM cases WHERE stage NOT IN ('completed', 'rejected') AND category_code = $2
			ORDER BY subject <-> $5 LIMIT $13)
		), scored AS (
			SELECT c.number, c.subject, c.category_code, c.stage, c.submitted_at, c.id,
				CASE WHEN $3::float8 IS NOT NULL AND c.lat IS NOT NULL THEN `+haversine+` END AS dist,
				greatest(similarity(c.subject, $5), similarity(c.subject || ' ' || left(c.body, 300), $8))::float8 AS sim
			FROM candidates k JOIN cases c ON c.id = k.id
			WHERE c.category_code = $2 AND c.id <> $1 AND c.merged_into IS NULL
		), kept AS (
			SELECT *, CASE WHEN dist <= $9 THEN dist ELSE -1 END AS near FROM scored
			WHERE dist <= $9 OR sim >= $10
		)
		SELECT number, subject, category_code, stage, submitted_at, near, sim,
			greatest(CASE WHEN near >= 0 THEN 1 - near / $9 ELSE 0 END, sim) AS score
		FROM kept
		ORDER BY score DESC, submitted_at, id
		LIMIT $11`,
		c.ID, c.CategoryCode, lat, lon, c.Subject, dLat, dLon, text, q.RadiusM, q.MinSimilarity, q.Limit,
		nearCandidates, similarCandidates)
	if err != nil {
		return nil, fmt.Errorf("possible duplicates: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dimos.Duplicate, error) {
		var d dimos.Duplicate
		err := r.Scan(&d.Number, &d.Subject, &d.CategoryCode, &d.Stage, &d.SubmittedAt, &d.DistanceM, &d.Similarity, &d.Score)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("possible duplicates: %w", err)
	}
	return out, nil
}

// excerpt returns the first n characters of s.
func excerpt(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// mergeRow is what MergeCase reads of each of the two cases, under lock.
type mergeRow struct {
	id         int64
	number     string
	category   string
	stage      dimos.Stage
	mergedInto *int64
}

// MergeCase merges a duplicate into its original in one transaction, with both rows
// locked (in id order, so two merges never deadlock). An original must be open and
// not merged itself; since a merged case is closed and a duplicate must not be merged
// already, no chain of merges can come back to where it started.
func (db *DB) MergeCase(ctx context.Context, m dimos.Merge) error {
	at := m.At.UTC().Truncate(time.Microsecond)
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, number, category_code, stage, merged_into FROM cases
			WHERE id = $1 OR number = $2 ORDER BY id FOR UPDATE`, m.DuplicateID, m.OriginalNumber)
		if err != nil {
			return err
		}
		found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (mergeRow, error) {
			var x mergeRow
			err := r.Scan(&x.id, &x.number, &x.category, &x.stage, &x.mergedInto)
			return x, err
		})
		if err != nil {
			return err
		}
		var dup, orig *mergeRow
		for i := range found {
			if found[i].id == m.DuplicateID {
				dup = &found[i]
			}
			if found[i].number == m.OriginalNumber {
				orig = &found[i]
			}
		}
		switch {
		case dup == nil:
			return dimos.Errorf(dimos.EINVALID, "error.case.not_found")
		case orig == nil:
			return dimos.Errorf(dimos.EINVALID, "error.merge.original_unknown")
		case orig.id == dup.id:
			return dimos.Errorf(dimos.EINVALID, "error.merge.self")
		case dup.mergedInto != nil && *dup.mergedInto == orig.id:
			return nil // merged already: a retry
		case dup.mergedInto != nil:
			return dimos.Errorf(dimos.ECONFLICT, "error.merge.already")
		case orig.mergedInto != nil:
			return dimos.Errorf(dimos.ECONFLICT, "error.merge.original_merged")
		case orig.stage.Terminal():
			return dimos.Errorf(dimos.ECONFLICT, "error.merge.original_closed")
		case orig.category != dup.category && strings.TrimSpace(m.Reason) == "":
			return dimos.Errorf(dimos.EINVALID, "error.merge.category_reason")
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET merged_into = $2 WHERE id = $1`, dup.id, orig.id); err != nil {
			return translate(err, "error.case.not_found")
		}
		// The duplicate's citizen follows the original, and so do those who followed
		// the duplicate: nobody merged earlier loses track.
		if _, err := tx.Exec(ctx, `INSERT INTO case_followers (case_id, follower_case_id, added_at)
			SELECT $1::bigint, $2::bigint, $3::timestamptz
			UNION SELECT $1, follower_case_id, $3 FROM case_followers WHERE case_id = $2 AND follower_case_id <> $1
			ON CONFLICT DO NOTHING`, orig.id, dup.id, at); err != nil {
			return err
		}
		body := dup.number
		if r := strings.TrimSpace(m.Reason); r != "" {
			body += " · " + r
		}
		return insertEvent(ctx, tx, dimos.CaseEvent{CaseID: orig.id, At: at, Type: "merged_in", ActorID: m.ActorID, Body: body}, "", 0)
	})
}

// CaseFollowers lists the citizens following a case through their merged cases,
// oldest merge first; anonymous cases have nobody to tell.
func (db *DB) CaseFollowers(ctx context.Context, caseID int64) ([]dimos.Follower, error) {
	rows, err := db.Pool.Query(ctx, `SELECT d.number, d.contact_first_name, d.contact_last_name, d.contact_email, d.contact_phone, d.lang
		FROM case_followers f JOIN cases d ON d.id = f.follower_case_id
		WHERE f.case_id = $1 AND NOT d.anonymous
		ORDER BY f.added_at, d.id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("case followers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dimos.Follower, error) {
		var f dimos.Follower
		err := r.Scan(&f.CaseNumber, &f.Contact.FirstName, &f.Contact.LastName, &f.Contact.Email, &f.Contact.Phone, &f.Lang)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("case followers: %w", err)
	}
	return out, nil
}

// OpenCasesOnMap lists the open cases with a point that the scope reaches, newest
// first, filtered by category, service and stage.
func (db *DB) OpenCasesOnMap(ctx context.Context, f dimos.MapFilter) ([]dimos.MapCase, error) {
	if f.Limit <= 0 || !f.Scope.All && f.Scope.ServiceID == 0 && f.Scope.EmployeeID == 0 {
		return nil, nil
	}
	rows, err := db.Pool.Query(ctx, `SELECT c.number, c.subject, c.category_code, coalesce(c.service_id, 0), c.stage, c.lat, c.lon
		FROM cases c
		WHERE c.lat IS NOT NULL AND c.stage NOT IN ('completed', 'rejected')
		  AND ($1 OR c.service_id = $2 OR c.assignee_id = $3)
		  AND ($4 = '' OR c.category_code = $4)
		  AND ($5::bigint = 0 OR c.service_id = $5::bigint)
		  AND ($6 = '' OR c.stage = $6)
		ORDER BY c.submitted_at DESC, c.id DESC
		LIMIT $7`,
		f.Scope.All, f.Scope.ServiceID, f.Scope.EmployeeID, f.CategoryCode, f.ServiceID, string(f.Stage), f.Limit)
	if err != nil {
		return nil, fmt.Errorf("cases on map: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dimos.MapCase, error) {
		var m dimos.MapCase
		err := r.Scan(&m.Number, &m.Subject, &m.CategoryCode, &m.ServiceID, &m.Stage, &m.Point.Lat, &m.Point.Lon)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("cases on map: %w", err)
	}
	return out, nil
}
