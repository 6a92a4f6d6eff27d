package history

import (
	"encoding/json"
	"fmt"
	"os"
)

// File is a saved set of histories, one per run (the --history file of
// "sandbox run").
type File struct {
	Runs []Run `json:"runs"`
}

// Run is one run's history with what is needed to check it again.
type Run struct {
	// Name names the run, e.g. the scenario file.
	Name string `json:"name"`
	// Seed reproduces the run.
	Seed int64 `json:"seed"`
	// Names maps user ids to names.
	Names  map[string]string `json:"names,omitempty"`
	Events []Event           `json:"events"`
}

// WriteFile saves f to path as indented JSON.
func WriteFile(path string, f File) error {
	data, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return fmt.Errorf("history: failed to encode: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("history: failed to write %s: %w", path, err)
	}
	return nil
}

// ReadFile loads a file written by WriteFile.
func ReadFile(path string) (File, error) {
	var f File
	data, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("history: failed to read %s: %w", path, err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("history: failed to decode %s: %w", path, err)
	}
	return f, nil
}
