package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"dimos"
)

// maxServiceRequests is the most the open API lists at once (GeoReport v2: 1000).
const maxServiceRequests = 1000

// ServiceRequests lists the cases the open API may show, newest first. Served by
// cases_submitted_idx for date ranges and by the unique number for id lists.
func (db *DB) ServiceRequests(ctx context.Context, f dimos.ServiceRequestFilter) ([]dimos.ServiceRequest, error) {
	if f.Limit <= 0 || f.Limit > maxServiceRequests {
		f.Limit = maxServiceRequests
	}
	if f.Numbers == nil {
		f.Numbers = []string{}
	}
	if f.CategoryCodes == nil {
		f.CategoryCodes = []string{}
	}
	open, closed := f.Open || !f.Closed, f.Closed || !f.Open
	rows, err := db.Pool.Query(ctx, `SELECT c.number, c.kind, c.category_code, cat.name_el, cat.name_en,
			c.channel, c.stage, CASE WHEN c.channel = 'open311' THEN c.body ELSE '' END,
			coalesce(s.name_el, ''), coalesce(s.name_en, ''), c.submitted_at,
			greatest(c.submitted_at, c.completed_at,
				(SELECT max(e.at) FROM case_events e WHERE e.case_id = c.id)),
			c.due_date, c.lat, c.lon, c.address, cat.target_completion_days::float8
		FROM cases c
		JOIN categories cat ON cat.code = c.category_code
		LEFT JOIN services s ON s.id = coalesce(c.service_id, cat.service_id)
		WHERE c.kind <> 'certificate' AND (c.channel = 'open311' OR NOT c.anonymous)
			AND (cardinality($1::text[]) = 0 OR c.number = ANY ($1))
			AND (cardinality($1::text[]) > 0 OR (
				(cardinality($2::text[]) = 0 OR c.category_code = ANY ($2))
				AND ($3::timestamptz IS NULL OR c.submitted_at >= $3)
				AND ($4::timestamptz IS NULL OR c.submitted_at < $4)
				AND (($5 AND c.stage NOT IN ('completed', 'rejected')) OR ($6 AND c.stage IN ('completed', 'rejected')))))
		ORDER BY c.submitted_at DESC, c.id DESC
		LIMIT $7`,
		f.Numbers, f.CategoryCodes, open311Time(f.From), open311Time(f.To), open, closed, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (dimos.ServiceRequest, error) {
		var s dimos.ServiceRequest
		var due *time.Time
		var lat, lon *float64
		err := r.Scan(&s.Number, &s.Kind, &s.CategoryCode, &s.CategoryNameEL, &s.CategoryNameEN,
			&s.Channel, &s.Stage, &s.Text, &s.ServiceNameEL, &s.ServiceNameEN, &s.SubmittedAt,
			&s.UpdatedAt, &due, &lat, &lon, &s.Address, &s.CompletionDays)
		s.DueDate = deref(due)
		if lat != nil && lon != nil {
			s.HasPoint, s.Lat, s.Lon = true, *lat, *lon
		}
		return s, err
	})
}

func open311Time(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
