// Package i18n is the translation catalogue: every sentence a citizen or an employee
// reads, in Greek first and English second. The sentences live in the JSON files of
// catalogue/, one file per area, so that no user-facing text is baked into Go code.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
)

// Languages in order of preference: Greek is the first language of every page.
const (
	Greek   = "el"
	English = "en"
)

//go:embed catalogue/*.json
var files embed.FS

type entry struct {
	EL string `json:"el"`
	EN string `json:"en"`
}

var catalogue = mustLoad()

func mustLoad() map[string]entry {
	m := map[string]entry{}
	paths, err := fs.Glob(files, "catalogue/*.json")
	if err != nil {
		panic(err)
	}
	for _, p := range paths {
		b, err := files.ReadFile(p)
		if err != nil {
			panic(err)
		}
		var part map[string]entry
		if err := json.Unmarshal(b, &part); err != nil {
			panic(fmt.Sprintf("i18n: %s: %v", p, err))
		}
		for k, v := range part {
			if _, dup := m[k]; dup {
				panic(fmt.Sprintf("i18n: key %q defined twice (second time in %s)", k, p))
			}
			if v.EL == "" || v.EN == "" {
				panic(fmt.Sprintf("i18n: key %q in %s lacks a language", k, p))
			}
			m[k] = v
		}
	}
	return m
}

// Lang normalises a language tag or an Accept-Language value to "el" or "en"; Greek
// unless English is asked for first.
func Lang(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.HasPrefix(s, "en") {
		return English
	}
	return Greek
}

// Has reports whether the catalogue knows key.
func Has(key string) bool { _, ok := catalogue[key]; return ok }

// T returns the sentence for key in lang, formatted with args. An unknown key is
// returned as it is, so a missing translation shows up on the page instead of hiding.
func T(lang, key string, args ...any) string {
	e, ok := catalogue[key]
	if !ok {
		return key
	}
	s := e.EL
	if lang == English {
		s = e.EN
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Both returns the sentence in Greek and in English, for answers read by machines
// and people alike (the JSON API).
func Both(key string, args ...any) (el, en string) {
	return T(Greek, key, args...), T(English, key, args...)
}
