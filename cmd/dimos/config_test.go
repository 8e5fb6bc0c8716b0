package main

import (
	"strings"
	"testing"
)

func TestConfigStarterWorkers(t *testing.T) {
	cfg, err := loadConfig()
	if err != nil || cfg.StarterWorkers != 32 {
		t.Fatalf("default: %d workers, %v", cfg.StarterWorkers, err)
	}
	t.Setenv("DIMOS_STARTER_WORKERS", "64")
	if cfg, err = loadConfig(); err != nil || cfg.StarterWorkers != 64 {
		t.Fatalf("DIMOS_STARTER_WORKERS=64: %d workers, %v", cfg.StarterWorkers, err)
	}
	for _, bad := range []string{"0", "-3", "many"} {
		t.Setenv("DIMOS_STARTER_WORKERS", bad)
		if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "DIMOS_STARTER_WORKERS") {
			t.Errorf("DIMOS_STARTER_WORKERS=%s: %v", bad, err)
		}
	}
}
