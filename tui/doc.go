// Package tui is the sandbox's terminal UI: a bubbletea program that shows a
// running sandbox.Cluster (instances, Redis, faults, simulated users, their
// inboxes and outboxes, and every instance's structured logs) and drives it
// through the Cluster and SimUser API only. It holds presentation only: no
// server or protocol logic lives here.
//
// The root Model holds one component per pane (status bar, users, messages,
// logs, prompt bar, help) and a focus. Keys go to the prompt when one is
// open, then to the global bindings, then to the focused pane; data (cluster
// snapshots, log batches) and ticks go to every pane. One KeyMap defines
// every binding and feeds both the help bar and the full key map (?). A
// Context carries the terminal size, the styles and the key map, so no
// package-level state exists and two programs can run in one process.
//
//	c, _ := sandbox.Start(ctx, sandbox.Options{Users: 4})
//	m := tui.New(tui.Options{Cluster: c, AutoConnect: true})
//	_, err := tea.NewProgram(m, tea.WithAltScreen()).Run() // q closes c
//
// Panes render from plain data (Snapshot, logging.Record), so each one can
// be rendered at a fixed size from fixed data in golden tests.
package tui
