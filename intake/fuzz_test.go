package intake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"dimos/intake"
	"dimos/postgres/pgtest"
	"dimos/workflows"
)

// FuzzSubmit feeds the case submission decoder arbitrary bodies: whatever arrives, the
// answer is a 201 or a 4xx, never a 5xx or a panic. Its seeds run in every `go test`;
// `go test -fuzz FuzzSubmit ./intake` explores further.
func FuzzSubmit(f *testing.F) {
	for _, seed := range []string{
		good, `{}`, `[]`, `null`, `"x"`, `{"kind":1}`, `{"contact":[]}`, `{"anonymous":true,"kind":"complaint"}`,
		good + `{}`, "{\"subject\":\"\xff\"}", `{"kind":"request","category":"potholes","subject":"` + strings.Repeat("α", 300) + `"}`,
		`{"kind":"certificate","category":"cert-birth","subject":"s","text":"t"}`, `{"lang":"en","kind":"suggestion"}`,
	} {
		f.Add(seed)
	}
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/api/v1/cases", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := h.app.Test(req, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 || resp.StatusCode != http.StatusCreated && resp.StatusCode < 400 {
			t.Fatalf("body %q answered %d", body, resp.StatusCode)
		}
	})
}

// fuzzWork accepts every update without keeping it: the citizen API's part is the
// decoding and checking before the workflow, and a fuzzer's millions of updates must
// not pile up in memory. The workflow's own checks are tested in workflows/.
type fuzzWork struct{}

func (fuzzWork) Update(context.Context, string, string, any) (workflows.Done, error) {
	return workflows.Done{}, nil
}

// newFuzzCase is the citizen API as cmd/dimos mounts it (body limit, no pre-parsed
// multipart), over a real database, with one case filed through it: its number and
// access key.
func newFuzzCase(f *testing.F) (app *fiber.App, number, key string) {
	db := pgtest.New(f, true)
	app = fiber.New(fiber.Config{BodyLimit: 11 << 20, DisablePreParseMultipartForm: true})
	intake.New(intake.Config{Cases: db, Directory: db, Work: fuzzWork{}, Attachments: db, Throttle: db}).Mount(app)
	req := httptest.NewRequest("POST", "/api/v1/cases", strings.NewReader(good))
	req.Header.Set("Content-Type", "application/json")
	resp, err := app.Test(req, 10_000)
	if err != nil {
		f.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Number string `json:"number"`
		Key    string `json:"access_key"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated || out.Key == "" {
		f.Fatalf("submit: %d %v %+v", resp.StatusCode, err, out)
	}
	return app, out.Number, out.Key
}

// citizenAnswer sends one request of the case's holder and fails on a 5xx, a panic
// (app.Test reports it as an error) or an answer that is not a JSON object.
func citizenAnswer(t *testing.T, app *fiber.App, path, key, contentType string, body []byte) int {
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %q: %d %s", path, body, resp.StatusCode, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %q: %d, not a JSON object: %s", path, body, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

// multipartBody is an upload as a browser or an app sends it, with a fixed boundary.
func multipartBody(parts ...[3]string) []byte {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.SetBoundary("fuzzboundary") //nolint:errcheck // a valid boundary
	for _, p := range parts {     // field, file name ("" for a plain field), content
		if p[1] == "" {
			w.WriteField(p[0], p[2]) //nolint:errcheck
			continue
		}
		fw, _ := w.CreateFormFile(p[0], p[1])
		fw.Write([]byte(p[2])) //nolint:errcheck
	}
	w.Close()
	return buf.Bytes()
}

// FuzzCitizenAttachment sends arbitrary multipart bodies to a case's attachments,
// as its holder: whatever the parts, names, contents and content type, the answer is
// a 201 or a 4xx in JSON, never a 5xx or a panic. Realistic uploads seed it from
// testdata/fuzz/FuzzCitizenAttachment; the seeds below are the odd ones.
func FuzzCitizenAttachment(f *testing.F) {
	const ct = "multipart/form-data; boundary=fuzzboundary"
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
	for _, seed := range [][]byte{
		multipartBody([3]string{"file", "invoice.pdf", "MZ\x90\x00\x03\x00\x00\x00"}),
		multipartBody([3]string{"file", "../../etc/passwd", "root:x:0:0"}),
		multipartBody([3]string{"file", "", png}),
		multipartBody([3]string{"file", "empty.png", ""}),
		multipartBody([3]string{"text", "", "χωρίς αρχείο"}),
		multipartBody([3]string{"file", "a.png", png}, [3]string{"file", "b.png", png}),
		multipartBody([3]string{"file", "\xff\xfe.png", png}, [3]string{"text", "", "\xff"}),
		[]byte("--fuzzboundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\n\r\n" + png),
		[]byte("--fuzzboundary--\r\n"), []byte(""), []byte("--fuzzboundary\r\n\r\n\r\n--fuzzboundary--"),
	} {
		f.Add(ct, seed)
	}
	f.Add("multipart/form-data", multipartBody([3]string{"file", "a.png", png}))
	f.Add("application/json", []byte(`{"file":"a.png"}`))
	f.Add("multipart/form-data; boundary=\"\"", []byte("----\r\n"))
	app, number, key := newFuzzCase(f)
	path := "/api/v1/cases/" + number + "/attachments"
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		if len(contentType) > 1024 {
			// Headers beyond the server's read buffer are refused by fasthttp before
			// any handler; app.Test reports that as an error, not an answer.
			t.Skip("header larger than the server reads")
		}
		if code := citizenAnswer(t, app, path, key, contentType, body); code != http.StatusCreated && code < 400 {
			t.Fatalf("%q: %d, want 201 or a 4xx", body, code)
		}
	})
}

// FuzzCitizenUpdate sends arbitrary JSON to a case's comments, rating and reopening,
// as its holder: the answer is a success or a 4xx in JSON, never a 5xx or a panic.
// The first argument picks the route. Realistic requests seed it from
// testdata/fuzz/FuzzCitizenUpdate; the seeds below are the odd ones.
func FuzzCitizenUpdate(f *testing.F) {
	for _, seed := range []struct {
		route uint8
		body  string
	}{
		{0, `{"text":""}`}, {0, `{"text":"` + strings.Repeat("α", 5000) + `"}`},
		{0, `{"text":1}`}, {0, `{"text":"a","extra":true}`}, {0, `{"text":"\u0000\ud800"}`},
		{1, `{"stars":9}`}, {1, `{"stars":-1}`},
		{1, `{"stars":3.5}`}, {1, `{"stars":1e400}`}, {1, `{"stars":"5"}`}, {1, `{"stars":1,"remark":"` + strings.Repeat("x", 3000) + `"}`},
		{2, `{"reason":""}`}, {2, `{"reason":null}`},
		{2, `[]`}, {2, `null`}, {2, ``}, {2, `{"reason":"a"}{"reason":"b"}`}, {2, "{\"reason\":\"\xff\"}"},
	} {
		f.Add(seed.route, seed.body)
	}
	app, number, key := newFuzzCase(f)
	routes := []string{"/comments", "/rating", "/reopen"}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		path := "/api/v1/cases/" + number + routes[int(route)%len(routes)]
		citizenAnswer(t, app, path, key, "application/json", []byte(body))
	})
}
