// Package jsonapi holds the conventions every citizen-facing JSON API of dimos keeps
// (the portal's case API, accounts): strict decoding of request bodies and one error
// shape, with every message in Greek and English:
//
//	{"error": {"code": "invalid", "message": {"el": "…", "en": "…"},
//	           "fields": [{"field": "subject", "code": "field.required", "message": {"el": "…", "en": "…"}}]}}
package jsonapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"dimos"
	"dimos/i18n"
)

// MaxBody bounds a JSON request body; files travel as multipart, not as JSON.
const MaxBody = 64 << 10

// Text is a sentence in both languages, Greek first.
type Text struct {
	EL string `json:"el"`
	EN string `json:"en"`
}

// Both returns the catalogue sentence key in both languages.
func Both(key string) Text {
	el, en := i18n.Both(key)
	return Text{el, en}
}

type fieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message Text   `json:"message"`
}

type errorBody struct {
	Error struct {
		Code    string       `json:"code"`
		Message Text         `json:"message"`
		Fields  []fieldError `json:"fields,omitempty"`
	} `json:"error"`
}

// Fail answers with err translated: the status from its domain code, its message and
// every field error in Greek and English. Internal errors are logged, never shown.
func Fail(c *fiber.Ctx, log *slog.Logger, err error) error {
	code := dimos.ErrorCode(err)
	var body errorBody
	body.Error.Code = code
	body.Error.Message = Both(dimos.ErrorKey(err))
	var de *dimos.Error
	if errors.As(err, &de) {
		for _, f := range de.Fields {
			body.Error.Fields = append(body.Error.Fields, fieldError{f.Field, f.Key, Both(f.Key)})
		}
	}
	if code == dimos.EINTERNAL {
		log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(dimos.HTTPStatus(code)).JSON(body)
}

// InvalidField is an EINVALID error of one field.
func InvalidField(field, key string) error {
	return &dimos.Error{Code: dimos.EINVALID, Key: "error.invalid", Fields: []dimos.FieldError{{Field: field, Key: key}}}
}

// Decode decodes one JSON object strictly: a body over MaxBody, invalid UTF-8 (which
// encoding/json would quietly turn into U+FFFD), unknown fields, wrong types and
// trailing data are the client's errors, reported per field where possible.
func Decode(body []byte, v any) error {
	if len(body) > MaxBody {
		return dimos.Errorf(dimos.EINVALID, "error.body.too_large")
	}
	if !utf8.Valid(body) {
		return dimos.Errorf(dimos.EINVALID, "error.body.utf8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return dimos.Errorf(dimos.EINVALID, "error.body")
		}
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return InvalidField(typeErr.Field, "field.type")
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return InvalidField(strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`), "field.unknown")
	}
	return dimos.Errorf(dimos.EINVALID, "error.body")
}
