package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
)

// recordHistory writes a workflow's history to workflows/testdata when
// DIMOS_RECORD_HISTORY is set, so the replay test in workflows/ can check that a
// change to the workflow code still replays what a real server recorded.
// `make record-histories` runs the end-to-end tests with it.
func recordHistory(t *testing.T, tc client.Client, workflowID, name string) {
	t.Helper()
	if os.Getenv("DIMOS_RECORD_HISTORY") == "" {
		return
	}
	iter := tc.GetWorkflowHistory(context.Background(), workflowID, "", false, 0)
	var h historypb.History
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, e)
	}
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "workflows", "testdata", name+".json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d events of %s in %s", len(h.Events), workflowID, path)
}
