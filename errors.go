package dimos

import (
	"errors"
	"fmt"
	"net/http"
)

// Error codes, mapped once to HTTP statuses at the edge.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	ETOOMANY      = "too_many_requests"
	EUNAVAILABLE  = "unavailable"
)

// Error is a failure a user can be told about. Code says what kind of failure it is;
// Key names the sentence in the translation catalogue that explains it, so the same
// error reads in Greek or in English; Fields lists every bad input field at once.
type Error struct {
	Code   string
	Key    string
	Fields []FieldError
}

// FieldError names one invalid input field and the catalogue key of the reason.
type FieldError struct {
	Field string `json:"field"`
	Key   string `json:"key"`
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("dimos error: code=%s key=%s", e.Code, e.Key)
	}
	return fmt.Sprintf("dimos error: code=%s key=%s fields=%v", e.Code, e.Key, e.Fields)
}

// Errorf returns an *Error with the given code and catalogue key.
func Errorf(code, key string) *Error { return &Error{Code: code, Key: key} }

// ErrorCode returns the code of the *Error inside err, EINTERNAL for any other error and
// "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorKey returns the catalogue key of the *Error inside err, "error.internal" otherwise.
func ErrorKey(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Key != "" {
		return e.Key
	}
	return "error.internal"
}

// Validation collects field errors so that a form reports all of them at once.
type Validation struct{ fields []FieldError }

// Add records that field is invalid for the reason named by key.
func (v *Validation) Add(field, key string) { v.fields = append(v.fields, FieldError{field, key}) }

// Err returns nil when nothing was added, otherwise an EINVALID *Error with every field.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Key: "error.invalid", Fields: v.fields}
}

// HTTPStatus is the one place where error codes become HTTP statuses.
func HTTPStatus(code string) int {
	switch code {
	case EINVALID:
		return http.StatusBadRequest
	case EUNAUTHORIZED:
		return http.StatusUnauthorized
	case EFORBIDDEN:
		return http.StatusForbidden
	case ENOTFOUND:
		return http.StatusNotFound
	case ECONFLICT:
		return http.StatusConflict
	case ETOOMANY:
		return http.StatusTooManyRequests
	case EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}
