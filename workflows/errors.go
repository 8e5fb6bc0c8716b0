package workflows

import (
	"errors"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"dimos"
)

// refuse makes a validator's refusal: an application error whose type is the dimos
// error code and whose message is the catalogue key, so the caller can rebuild the
// *dimos.Error on its side of the wire.
func refuse(code, key string) error {
	return temporal.NewNonRetryableApplicationError(key, code, nil)
}

// refuseField refuses because of one input field.
func refuseField(field, key string) error {
	return temporal.NewNonRetryableApplicationError(key, dimos.EINVALID, nil, dimos.FieldError{Field: field, Key: key})
}

// domainError turns what a workflow call returned into a *dimos.Error where the
// workflow meant one; other errors pass through.
func domainError(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() != "" {
		e := &dimos.Error{Code: appErr.Type(), Key: appErr.Message()}
		var fe dimos.FieldError
		if appErr.HasDetails() && appErr.Details(&fe) == nil && fe.Field != "" {
			e.Fields = []dimos.FieldError{fe}
		}
		return e
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return &dimos.Error{Code: dimos.ENOTFOUND, Key: "error.case.not_found"}
	}
	return err
}

// isRefusal reports whether err is a refusal with the catalogue key key.
func isRefusal(err error, key string) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Message() == key
}
