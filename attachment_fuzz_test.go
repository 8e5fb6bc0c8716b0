package dimos_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"dimos"
)

// acceptedTypes are the only content types an upload may be stored with: those read
// from the bytes, and the Office formats, which are zip files told apart by their name.
var acceptedTypes = map[string]bool{
	"application/pdf": true, "image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
	"text/plain; charset=utf-8": true, "audio/mpeg": true, "audio/wave": true,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document": true,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       true,
	"application/vnd.oasis.opendocument.text":                                 true,
	"application/vnd.oasis.opendocument.spreadsheet":                          true,
}

// FuzzNewAttachment feeds the upload sniffing arbitrary names and bytes: it never
// panics; it refuses with a field error on "file", or accepts with a type of the
// allowed list and a file name safe to offer for download.
func FuzzNewAttachment(f *testing.F) {
	f.Add("βεβαίωση.pdf", []byte("%PDF-1.4\n1 0 obj<<>>endobj\n"))
	f.Add("photo.pdf", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
	f.Add("αίτηση.docx", []byte("PK\x03\x04\x14\x00\x00\x00"))
	f.Add("..\\..\\etc\\passwd", []byte("Καλημέρα"))
	f.Add("run.exe", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00"))
	f.Add("page.html", []byte("<html><script>alert(1)</script>"))
	f.Add("a\x00b\x7f.txt", []byte("text"))
	f.Add("", []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		a, err := dimos.NewAttachment(name, data)
		if err != nil {
			var v *dimos.Error
			if !errors.As(err, &v) || len(v.Fields) == 0 || v.Fields[0].Field != "file" {
				t.Fatalf("refusal is not a field error on file: %#v", err)
			}
			return
		}
		if !acceptedTypes[a.ContentType] {
			t.Fatalf("accepted %q as %q", data, a.ContentType)
		}
		n := a.Name
		if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\\") || !utf8.ValidString(n) || utf8.RuneCountInString(n) > 200 {
			t.Fatalf("file name %q from %q", n, name)
		}
		for _, r := range n {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("control character in file name %q", n)
			}
		}
		if a.Size != int64(len(data)) || len(a.SHA256) != 64 {
			t.Fatalf("size %d, sha %q for %d bytes", a.Size, a.SHA256, len(data))
		}
	})
}
