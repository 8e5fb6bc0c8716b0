package console

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"dimos"
)

// The admins' page of Open311 API keys. A key is shown once, on the page that answers
// its issue, and never again: the store keeps only its hash and a prefix by which
// staff tell keys apart. The audit log keeps the prefix too, never the key.

const (
	pathAPIKeys         = "/console/admin/api-keys"
	auditAPIKeyCreate   = "apikey.create"
	auditAPIKeyRevoke   = "apikey.revoke"
	apiKeysNoticeRevoke = "revoke"
)

func apiKeyRevokePath(id int64) string {
	return pathAPIKeys + "/" + strconv.FormatInt(id, 10) + "/revoke"
}

type apiKeysView struct {
	pageView
	Keys     []apiKeyRow
	Form     formState // the issue form
	Issued   *issuedKey
	DoneKey  string
	AlertKey string // why nothing was done, above the page
}

// issuedKey is the key just issued, the only time it is shown.
type issuedKey struct {
	Key    string
	Name   string
	Prefix string
}

// apiKeyRow is one key of the list; a key's secret is never part of it.
type apiKeyRow struct {
	ID          int64
	Name        string
	Prefix      string
	CreatedAt   time.Time
	CreatedBy   string // "" when issued from the command line
	RevokedAt   time.Time
	RevokedBy   string
	RevokePath  string
	RevokeError fieldErrors // why a revocation of this key was refused
}

// Revoked reports whether the row's key was withdrawn.
func (r apiKeyRow) Revoked() bool { return !r.RevokedAt.IsZero() }

func (con *Console) apiKeys() (dimos.APIKeyStore, error) {
	if con.cfg.APIKeys == nil {
		return nil, dimos.Errorf(dimos.EUNAVAILABLE, "error.unavailable")
	}
	return con.cfg.APIKeys, nil
}

// apiKeysPage lists the keys with the form that issues one.
func (con *Console) apiKeysPage(c *fiber.Ctx) error {
	v, err := con.apiKeysView(c, formState{Name: "issue", Values: map[string]string{}}, 0, nil)
	if err != nil {
		return con.fail(c, err)
	}
	if c.Query("done") == apiKeysNoticeRevoke {
		v.DoneKey = "console.apikeys.done.revoke"
	}
	return con.render(c, fiber.StatusOK, "api-keys", v)
}

// apiKeysView builds the page; revokeID names the key whose revoke form failed with
// revokeErrs.
func (con *Console) apiKeysView(c *fiber.Ctx, form formState, revokeID int64, revokeErrs []string) (apiKeysView, error) {
	store, err := con.apiKeys()
	if err != nil {
		return apiKeysView{}, err
	}
	ctx := c.UserContext()
	keys, err := store.APIKeys(ctx)
	if err != nil {
		return apiKeysView{}, err
	}
	v := apiKeysView{pageView: con.page(c, pathAPIKeys)}
	form.fields = []string{"name"}
	v.Form = form
	names := newNamer(con.cfg.Directory, v.Lang)
	for _, k := range keys {
		by, err := names.employee(ctx, k.CreatedBy)
		if err != nil {
			return v, err
		}
		revokedBy := ""
		if k.Revoked() {
			if revokedBy, err = names.employee(ctx, k.RevokedBy); err != nil {
				return v, err
			}
		}
		row := apiKeyRow{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt, CreatedBy: by,
			RevokedAt: k.RevokedAt, RevokedBy: revokedBy, RevokePath: apiKeyRevokePath(k.ID)}
		if k.ID == revokeID {
			row.RevokeError = fieldErrors{ID: "revoke-" + strconv.FormatInt(k.ID, 10) + "-errors", Keys: revokeErrs}
		}
		v.Keys = append(v.Keys, row)
	}
	return v, nil
}

// issueAPIKey issues a key in the signed-in admin's name and answers with the page
// that shows it, once: not a redirect, so that the key is never in a URL, and never
// cached (secureHeaders).
func (con *Console) issueAPIKey(c *fiber.Ctx) error {
	st := staffOf(c)
	store, err := con.apiKeys()
	if err != nil {
		return con.fail(c, err)
	}
	form := formState{Name: "issue", Values: map[string]string{"name": strings.Clone(c.FormValue("name"))}}
	name := strings.TrimSpace(form.Values["name"])
	var fields []dimos.FieldError
	switch {
	case !utf8.ValidString(name):
		fields = append(fields, dimos.FieldError{Field: "name", Key: "field.utf8"})
	case name == "":
		fields = append(fields, dimos.FieldError{Field: "name", Key: "field.required"})
	case utf8.RuneCountInString(name) > dimos.MaxAPIKeyNameLen:
		fields = append(fields, dimos.FieldError{Field: "name", Key: "console.apikeys.field.name_too_long"})
	}
	if len(fields) == 0 {
		key, k, err := store.CreateAPIKey(c.UserContext(), name, st.me.ID)
		if err == nil {
			con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditAPIKeyCreate, Target: k.Name, Detail: k.Prefix})
			v, err := con.apiKeysView(c, formState{Name: "issue", Values: map[string]string{}}, 0, nil)
			if err != nil {
				// The key exists now; the admin must still see it, even without the list.
				con.log.Error("console: api keys after issue", "err", err)
				v = apiKeysView{pageView: con.page(c, pathAPIKeys)}
			}
			v.Issued = &issuedKey{Key: key, Name: k.Name, Prefix: k.Prefix}
			c.Set(fiber.HeaderCacheControl, "no-store")
			return con.render(c, fiber.StatusOK, "api-keys", v)
		}
		var refusal *dimos.Error
		if !errors.As(err, &refusal) || refusal.Code != dimos.EINVALID {
			return con.fail(c, err)
		}
		fields = refusal.Fields
	}
	form.ErrorKey, form.Errors = "error.invalid", fields
	v, err := con.apiKeysView(c, form, 0, nil)
	if err != nil {
		return con.fail(c, err)
	}
	return con.render(c, fiber.StatusBadRequest, "api-keys", v)
}

// revokeAPIKey withdraws a key at once: Open311 clients using it are refused from the
// next request. The admin ticks a box first, since the client's owner needs a new key.
func (con *Console) revokeAPIKey(c *fiber.Ctx) error {
	st := staffOf(c)
	store, err := con.apiKeys()
	if err != nil {
		return con.fail(c, err)
	}
	ctx := c.UserContext()
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return con.fail(c, dimos.Errorf(dimos.ENOTFOUND, "console.apikeys.error.not_found"))
	}
	keys, err := store.APIKeys(ctx)
	if err != nil {
		return con.fail(c, err)
	}
	var key *dimos.APIKey
	for i := range keys {
		if keys[i].ID == id {
			key = &keys[i]
		}
	}
	if key == nil {
		return con.fail(c, dimos.Errorf(dimos.ENOTFOUND, "console.apikeys.error.not_found"))
	}
	if !formChecked(c, "confirm") {
		v, err := con.apiKeysView(c, formState{Name: "issue", Values: map[string]string{}}, id,
			[]string{"console.apikeys.field.confirm"})
		if err != nil {
			return con.fail(c, err)
		}
		v.AlertKey = "error.invalid"
		return con.render(c, fiber.StatusBadRequest, "api-keys", v)
	}
	if err := store.RevokeAPIKey(ctx, id, st.me.ID); dimos.ErrorCode(err) == dimos.ENOTFOUND {
		return con.fail(c, dimos.Errorf(dimos.ENOTFOUND, "console.apikeys.error.not_found"))
	} else if err != nil {
		return con.fail(c, err)
	}
	if !key.Revoked() {
		con.audit(c, dimos.AuditEntry{EmployeeID: st.me.ID, Action: auditAPIKeyRevoke, Target: key.Name,
			Detail: "id=" + strconv.FormatInt(id, 10) + " prefix=" + key.Prefix})
	}
	return c.Redirect(pathAPIKeys+"?done="+apiKeysNoticeRevoke, fiber.StatusSeeOther)
}
