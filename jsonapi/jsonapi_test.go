package jsonapi_test

import (
	"slices"
	"strings"
	"testing"

	"dimos"
	"dimos/jsonapi"
)

type body struct {
	Text  string `json:"text"`
	Stars int    `json:"stars"`
}

func fields(err error) []string {
	var out []string
	if e, ok := err.(*dimos.Error); ok {
		for _, f := range e.Fields {
			out = append(out, f.Field+":"+f.Key)
		}
	}
	return out
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in string
		key      string
		fields   []string
	}{
		{"Valid", `{"text":"Καλημέρα","stars":4}`, "", nil},
		{"ErrUnknownField", `{"text":"x","color":"red"}`, "error.invalid", []string{"color:field.unknown"}},
		{"ErrWrongType", `{"stars":"five"}`, "error.invalid", []string{"stars:field.type"}},
		{"ErrTrailingData", `{"text":"x"} {"text":"y"}`, "error.body", nil},
		{"ErrNotJSON", `text=x`, "error.body", nil},
		{"ErrInvalidUTF8", "{\"text\":\"\xff\"}", "error.body.utf8", nil},
		{"ErrTooLarge", `{"text":"` + strings.Repeat("α", jsonapi.MaxBody) + `"}`, "error.body.too_large", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b body
			err := jsonapi.Decode([]byte(tt.in), &b)
			if tt.key == "" {
				if err != nil || b.Text != "Καλημέρα" || b.Stars != 4 {
					t.Fatalf("%+v %v", b, err)
				}
				return
			}
			if dimos.ErrorCode(err) != dimos.EINVALID || dimos.ErrorKey(err) != tt.key || !slices.Equal(fields(err), tt.fields) {
				t.Fatalf("got %v (fields %v), want %s %v", err, fields(err), tt.key, tt.fields)
			}
		})
	}
}

// FuzzDecode: whatever a client sends, Decode answers nil or a client error (EINVALID
// with a catalogue key), never a panic or an internal error.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"text":"x","stars":1}`, `[]`, `null`, `{"stars":1e999}`, "{\"text\":\"\xff\"}", `{"a":`, `{"text":"x"}{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var b body
		err := jsonapi.Decode(in, &b)
		if err != nil && (dimos.ErrorCode(err) != dimos.EINVALID || dimos.ErrorKey(err) == "error.internal") {
			t.Fatalf("%q: %v", in, err)
		}
	})
}
