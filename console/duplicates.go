package console

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/workflows"
)

// Possible duplicates on the case page, and the merge of a duplicate into its
// original. The list shows the open cases of the same category near the case's point
// or with similar text, each with its distance or similarity and a link; the holder
// of a duplicate merges it from its own page, naming the original. The merge is the
// duplicate workflow's decision (workflows.UpdateMerge), like every other.

const (
	// defaultDuplicateRadiusM is how near two points of the same matter usually are:
	// the two ends of a city block.
	defaultDuplicateRadiusM = 150
	// minDuplicateSimilarity is the trigram similarity from which two texts read alike.
	minDuplicateSimilarity = 0.3
	duplicatesLimit        = 10
)

// duplicateRow is one possible duplicate, ready for the page.
type duplicateRow struct {
	Number      string
	URL         string
	Subject     string
	StageKey    string
	SubmittedAt time.Time
	DistanceM   int // rounded; -1 when the points are not near
	Similarity  int // percent
}

// Near reports whether the row was found by its point.
func (r duplicateRow) Near() bool { return r.DistanceM >= 0 }

// caseMapView is the small map of a case's point on its page.
type caseMapView struct {
	Tiles mapTiles
	Lat   string // as data attributes and the text beside the map: a decimal point, 6 places
	Lon   string
	Label string
}

// duplicateSection fills the case page's list of possible duplicates and its map.
// Only an open case has duplicates worth merging; a closed one shows none.
func (con *Console) duplicateSection(ctx context.Context, v *caseView) error {
	cs := v.Case
	if cs.Location != nil {
		v.CaseMap = &caseMapView{Tiles: con.tiles(), Label: cs.Number,
			Lat: strconv.FormatFloat(cs.Location.Lat, 'f', 6, 64), Lon: strconv.FormatFloat(cs.Location.Lon, 'f', 6, 64)}
		v.MapAssets = true
	}
	if con.cfg.Duplicates == nil || cs.Stage.Terminal() {
		return nil
	}
	radius := con.cfg.DuplicateRadiusM
	if radius <= 0 {
		radius = defaultDuplicateRadiusM
	}
	found, err := con.cfg.Duplicates.PossibleDuplicates(ctx, dimos.DuplicateQuery{Case: cs, RadiusM: radius,
		MinSimilarity: minDuplicateSimilarity, Limit: duplicatesLimit})
	if err != nil {
		return fmt.Errorf("possible duplicates: %w", err)
	}
	v.DuplicatesShown, v.DuplicateRadiusM = true, int(radius)
	for _, d := range found {
		row := duplicateRow{Number: d.Number, URL: casePath(d.Number), Subject: d.Subject, StageKey: "stage." + string(d.Stage),
			SubmittedAt: d.SubmittedAt, DistanceM: -1, Similarity: int(d.Similarity*100 + 0.5)}
		if d.DistanceM >= 0 {
			row.DistanceM = int(d.DistanceM + 0.5)
		}
		v.Duplicates = append(v.Duplicates, row)
	}
	return nil
}

// mergeRequest reads the merge form: the original's number and an optional reason.
// The original is read here, so that the workflow's validator can refuse at once an
// original that is closed or of another category; one the employee may not see
// reads as unknown, so the form reveals nothing of other services' cases.
func (con *Console) mergeRequest(c *fiber.Ctx, cs *dimos.Case, by dimos.Actor) (any, string, error) {
	raw := strings.TrimSpace(c.FormValue("original"))
	if raw == "" {
		return nil, "", invalid("original", "field.required")
	}
	number, ok := dimos.ParseCaseNumber(raw)
	if !ok {
		return nil, "", invalid("original", "error.merge.original_unknown")
	}
	orig, err := con.cfg.Cases.CaseByNumber(c.UserContext(), number)
	if dimos.ErrorCode(err) == dimos.ENOTFOUND {
		return nil, "", invalid("original", "error.merge.original_unknown")
	} else if err != nil {
		return nil, "", err
	}
	if me := staffOf(c).me; !allowed(me, actViewCase, orig) {
		return nil, "", invalid("original", "error.merge.original_unknown")
	}
	req := workflows.MergeRequest{By: by, Reason: formText(c, "reason"),
		Original: workflows.MergeOriginal{Number: orig.Number, CategoryCode: orig.CategoryCode, Stage: orig.Stage}}
	return req, "original=" + orig.Number, nil
}
