package dimos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxAttachmentSize is the largest file a clerk or citizen may attach (M12): enough
// for a scanned document or a phone photo.
const MaxAttachmentSize = 10 << 20

// Attachment is a stored file of a case. Files live in the database, never in a
// workflow's history: the workflow records only the AttachmentRef.
type Attachment struct {
	AttachmentRef
	CaseID     int64
	Data       []byte
	UploadedBy int64 // employee; 0 when the citizen uploaded it
	ByCitizen  bool
	Public     bool // visible to the citizen
	CreatedAt  time.Time
}

// AttachmentStore keeps attachments.
type AttachmentStore interface {
	// SaveAttachment stores a checked attachment and fills its ID. The same file
	// (same checksum) attached to the same case twice is stored once and keeps its ID.
	SaveAttachment(ctx context.Context, a *Attachment) error
	Attachment(ctx context.Context, id int64) (*Attachment, error)
	CaseAttachments(ctx context.Context, caseID int64) ([]Attachment, error) // without Data
}

// allowedTypes are the content types accepted, by what the bytes say they are, not by
// what the uploader claims.
var allowedTypes = map[string]bool{
	"application/pdf": true, "image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
	"text/plain; charset=utf-8": true,
	"audio/mpeg":                true, "audio/wave": true, // phone recordings (M17)
}

// officeExtensions are accepted when the bytes are a zip archive (the Office formats).
var officeExtensions = map[string]string{
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".odt":  "application/vnd.oasis.opendocument.text",
	".ods":  "application/vnd.oasis.opendocument.spreadsheet",
}

// NewAttachment checks a file and describes it: its size, its type sniffed from its
// contents, its SHA-256. A file too large, empty or of a type not accepted is an
// EINVALID error naming the field "file".
func NewAttachment(name string, data []byte) (*Attachment, error) {
	name = cleanFileName(name)
	var v Validation
	switch {
	case len(data) == 0:
		v.Add("file", "field.file.empty")
	case len(data) > MaxAttachmentSize:
		v.Add("file", "field.file.too_large")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	ct := http.DetectContentType(data)
	if ct == "application/zip" {
		ct = officeExtensions[strings.ToLower(path.Ext(name))]
	}
	// Only the Office formats named above: other "application/vnd." types that the
	// sniffer knows (fonts, for one) are not documents a citizen sends.
	if ct == "" || !allowedTypes[ct] && !isOfficeType(ct) {
		v.Add("file", "field.file.type")
		return nil, v.Err()
	}
	sum := sha256.Sum256(data)
	return &Attachment{AttachmentRef: AttachmentRef{Name: name, ContentType: ct, Size: int64(len(data)),
		SHA256: hex.EncodeToString(sum[:])}, Data: data}, nil
}

// cleanFileName keeps the base name of what a browser sent, without control
// characters, and at most 200 characters.
func cleanFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	if name == "" || name == "." || name == ".." || name == "/" {
		name = "file"
	}
	if r := []rune(name); len(r) > 200 {
		name = string(r[len(r)-200:])
	}
	return name
}

// isOfficeType reports whether ct is one of the Office formats told apart by name.
func isOfficeType(ct string) bool {
	for _, t := range officeExtensions {
		if t == ct {
			return true
		}
	}
	return false
}
