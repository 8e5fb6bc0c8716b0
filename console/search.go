package console

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"dimos"
)

// Search across cases (M19): one box in the header of every staff page, and a page of
// results ranked by the store, each with an excerpt in which the matched words are
// highlighted. What a search finds is limited to what the employee may read
// (searchScope), so the page never shows a case that its link would refuse.

const (
	pathSearch     = "/console/search"
	searchLimit    = 50  // results shown at most
	searchMaxQuery = 100 // characters of a query kept
)

type searchView struct {
	pageView
	Query    string
	Searched bool // a query was given; Hits holds its results
	Hits     []searchRow
	Limited  bool // as many hits as searchLimit: there may be more
}

// searchRow is one case found, ready for the page.
type searchRow struct {
	Number      string
	URL         string
	Subject     string
	Category    string
	Status      dimos.Status
	StatusKey   string
	SubmittedAt time.Time
	Headline    []fragment
}

// fragment is a piece of a headline: plain text, or a matched word to highlight. The
// template prints Text escaped in both cases and wraps a Match in <mark> itself, so
// nothing the citizen wrote is ever taken as markup.
type fragment struct {
	Text  string
	Match bool
}

// splitHeadline cuts a store's headline at its highlight markers. A marker left
// open (a cut excerpt) highlights to the end; a stray closing marker is dropped.
func splitHeadline(h string) []fragment {
	var out []fragment
	for h != "" {
		before, rest, found := strings.Cut(h, dimos.HighlightStart)
		if before != "" {
			out = append(out, fragment{Text: strings.ReplaceAll(before, dimos.HighlightStop, "")})
		}
		if !found {
			break
		}
		match, after, _ := strings.Cut(rest, dimos.HighlightStop)
		if match != "" {
			out = append(out, fragment{Text: match, Match: true})
		}
		h = after
	}
	return out
}

// searchPage shows the search form and, for a query, the cases it finds.
func (con *Console) searchPage(c *fiber.Ctx) error {
	if con.cfg.Search == nil {
		return con.fail(c, dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable"))
	}
	st := staffOf(c)
	ctx := c.UserContext()
	q := truncate(strings.TrimSpace(c.Query("q")), searchMaxQuery)
	back := pathSearch
	if q != "" {
		back += "?q=" + url.QueryEscape(q)
	}
	v := searchView{pageView: con.page(c, back), Query: q}
	v.SearchQuery = q
	if q != "" {
		hits, err := con.cfg.Search.SearchCases(ctx, q, searchScope(st.me), searchLimit)
		if err != nil {
			return con.fail(c, err)
		}
		names, err := con.categoryNames(ctx)
		if err != nil {
			return con.fail(c, err)
		}
		v.Searched, v.Limited = true, len(hits) >= searchLimit
		for _, h := range hits {
			v.Hits = append(v.Hits, searchRow{
				Number:      h.Number,
				URL:         casePath(h.Number),
				Subject:     h.Subject,
				Category:    orDefault(names[h.CategoryCode].name(v.Lang), h.CategoryCode),
				Status:      h.Status,
				StatusKey:   "status." + string(h.Status),
				SubmittedAt: h.SubmittedAt,
				Headline:    splitHeadline(h.Headline),
			})
		}
	}
	return con.render(c, fiber.StatusOK, "search", v)
}
