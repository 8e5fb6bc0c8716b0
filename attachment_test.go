package dimos_test

import (
	"bytes"
	"testing"

	"dimos"
)

func TestNewAttachment(t *testing.T) {
	pdf := []byte("%PDF-1.4\n1 0 obj<<>>endobj\n")
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	zip := []byte("PK\x03\x04\x14\x00\x00\x00")
	tests := []struct {
		name, file string
		data       []byte
		wantType   string
		wantErr    string
	}{
		{"PDF", "βεβαίωση.pdf", pdf, "application/pdf", ""},
		{"PNGNamedPDF", "photo.pdf", png, "image/png", ""}, // the bytes decide, not the name
		{"Text", "σημείωμα.txt", []byte("Καλημέρα"), "text/plain; charset=utf-8", ""},
		{"Docx", "αίτηση.docx", zip, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ""},
		{"ErrZipNotOffice", "archive.zip", zip, "", "field.file.type"},
		{"ErrExecutable", "run.exe", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00"), "", "field.file.type"},
		{"ErrHTML", "page.html", []byte("<html><script>alert(1)</script>"), "", "field.file.type"},
		{"ErrEmpty", "x.pdf", nil, "", "field.file.empty"},
		{"ErrTooLarge", "x.pdf", append(pdf, bytes.Repeat([]byte{' '}, dimos.MaxAttachmentSize)...), "", "field.file.too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := dimos.NewAttachment(tt.file, tt.data)
			if tt.wantErr != "" {
				if got := fields(err); len(got) != 1 || got[0] != "file:"+tt.wantErr {
					t.Fatalf("got %v, want %s", got, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.ContentType != tt.wantType || a.Size != int64(len(tt.data)) || len(a.SHA256) != 64 {
				t.Fatalf("%+v", a.AttachmentRef)
			}
		})
	}
	t.Run("FileNameCleaned", func(t *testing.T) {
		a, err := dimos.NewAttachment("C:\\Users\\x\\..\\αίτηση\x00.pdf", pdf)
		if err != nil || a.Name != "αίτηση.pdf" {
			t.Fatalf("name %q, %v", a.Name, err)
		}
	})
}
