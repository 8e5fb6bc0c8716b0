package ivr

import (
	"encoding/xml"
	"strings"
)

// The TwiML verbs dimos speaks, as encoding/xml structs: every reply is built from
// these, so it is well-formed whatever a caller keys in.

type response struct {
	XMLName xml.Name `xml:"Response"`
	Verbs   []any
}

type say struct {
	XMLName  xml.Name `xml:"Say"`
	Language string   `xml:"language,attr"`
	Text     string   `xml:",chardata"`
}

type play struct {
	XMLName xml.Name `xml:"Play"`
	URL     string   `xml:",chardata"`
}

type gather struct {
	XMLName     xml.Name `xml:"Gather"`
	Action      string   `xml:"action,attr"`
	Method      string   `xml:"method,attr"`
	NumDigits   int      `xml:"numDigits,attr"`
	FinishOnKey string   `xml:"finishOnKey,attr,omitempty"`
	Timeout     int      `xml:"timeout,attr"`
	Verbs       []any
}

type record struct {
	XMLName     xml.Name `xml:"Record"`
	Action      string   `xml:"action,attr"`
	Method      string   `xml:"method,attr"`
	MaxLength   int      `xml:"maxLength,attr"`
	PlayBeep    bool     `xml:"playBeep,attr"`
	FinishOnKey string   `xml:"finishOnKey,attr"`
	Timeout     int      `xml:"timeout,attr"`
}

type redirect struct {
	XMLName xml.Name `xml:"Redirect"`
	Method  string   `xml:"method,attr"`
	URL     string   `xml:",chardata"`
}

type hangup struct {
	XMLName xml.Name `xml:"Hangup"`
}

// language is the voice every prompt is spoken in.
const language = "el-GR"

func sayText(text string) say { return say{Language: language, Text: text} }

func (r *response) add(v ...any) *response { r.Verbs = append(r.Verbs, v...); return r }

func (r *response) say(text string) *response { return r.add(sayText(text)) }

func (r *response) marshal() []byte {
	b, err := xml.Marshal(r)
	if err != nil { // only plain strings and ints go in: cannot happen
		panic(err)
	}
	return append([]byte(xml.Header), b...)
}

// spellDigits renders a number so that a voice reads it digit by digit (M8): digits
// apart, groups (split at "-") apart by a comma and so a short pause.
func spellDigits(s string) string {
	groups := strings.Split(s, "-")
	for i, g := range groups {
		groups[i] = strings.Join(strings.Split(g, ""), " ")
	}
	return strings.Join(groups, ", ")
}
