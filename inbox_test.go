package dimos

import (
	"slices"
	"testing"
	"time"
)

func TestInboxScopeTabs(t *testing.T) {
	tests := []struct {
		name  string
		scope InboxScope
		want  []InboxTab
	}{
		{"Clerk", InboxScope{EmployeeID: 1, ServiceID: 2}, []InboxTab{InboxMine, InboxService, InboxWaiting, InboxOverdue}},
		{"ManagerWithoutService", InboxScope{All: true, EmployeeID: 3}, []InboxTab{InboxMine, InboxWaiting, InboxOverdue, InboxAll}},
		{"AdminOfAService", InboxScope{All: true, EmployeeID: 4, ServiceID: 2}, InboxTabs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.scope.Tabs(); !slices.Equal(got, tc.want) {
				t.Errorf("tabs %v, want %v", got, tc.want)
			}
			if tc.scope.Allows("everything") {
				t.Error("an unknown tab is allowed")
			}
		})
	}
}

func TestInboxCursor(t *testing.T) {
	for _, c := range []InboxCursor{
		{Deadline: time.Date(2026, 4, 6, 7, 0, 0, 123000, time.UTC), ID: 42},
		{ID: 7}, // no deadline: sorts last
	} {
		back, err := ParseInboxCursor(c.String())
		if err != nil || back != c {
			t.Errorf("%v → %q → %v, %v", c, c.String(), back, err)
		}
	}
	for _, bad := range []string{"", "42", "x_1", "1_", "1_0", "1_-3", "none_x", "1775458800000000"} {
		if _, err := ParseInboxCursor(bad); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}
