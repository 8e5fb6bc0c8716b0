package activities

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"dimos"
)

// FetchInput asks for a phone case's recording.
type FetchInput struct {
	CaseID int64
	Number string
}

// FetchRecording downloads the message an IVR caller recorded (M17) from the
// telephony provider and attaches it to the case, so the clerk can listen to it in
// the console. Only hosts named in RecordingHosts are fetched from: the URL arrives in
// a webhook, and the worker must not be made to fetch anything else. A case without a
// recording, or whose recording is attached already, changes nothing.
func (a *Activities) FetchRecording(ctx context.Context, in FetchInput) error {
	raw, err := a.Recordings.RecordingOf(ctx, in.CaseID)
	if err != nil || raw == "" {
		return err
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !slices.Contains(a.RecordingHosts, strings.ToLower(u.Hostname())) ||
		u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return refusal(dimos.Errorf(dimos.EFORBIDDEN, "error.recording.host"))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return refusal(dimos.Errorf(dimos.EINVALID, "error.recording.host"))
	}
	client := a.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("fetch recording of %s: %w", in.Number, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("fetch recording of %s: provider answered %s", in.Number, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return refusal(dimos.Errorf(dimos.ENOTFOUND, "error.recording.missing"))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, dimos.MaxAttachmentSize+1))
	if err != nil {
		return fmt.Errorf("read recording of %s: %w", in.Number, err)
	}
	att, err := dimos.NewAttachment("recording-"+in.Number+extensionOf(http.DetectContentType(data)), data)
	if err != nil {
		return refusal(err)
	}
	att.CaseID, att.ByCitizen, att.Public = in.CaseID, true, true
	if err := a.Attachments.SaveAttachment(ctx, att); err != nil {
		return err
	}
	return a.Cases.ApplyChange(ctx, dimos.CaseChange{CaseID: in.CaseID, Key: "recording", Event: dimos.CaseEvent{
		Type: "attachment", At: a.now(), Public: true, ByCitizen: true, Body: att.Name}})
}

func extensionOf(contentType string) string {
	switch contentType {
	case "audio/mpeg":
		return ".mp3"
	case "audio/wave":
		return ".wav"
	}
	return ""
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
